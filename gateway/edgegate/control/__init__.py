"""The wasmCloud control interface of the gateway's board hosts."""

from edgegate.control.server import ControlInterface

__all__ = ["ControlInterface"]
