"""The board under test for tests/hil, as the scenarios use it: edgehost's pytest plugin's
board (`edgehost_board`, simulated unless --board-port is given) with its profile, and a raw
gateway-side session on its link for the scenarios that speak the protocol themselves.
(Named uniquely: every test folder has a conftest, and module names must not collide.)
"""

from __future__ import annotations

from support.gateway import Gateway, open_gateway

from edgecli import profiles
from edgecli.pytestplugin import EdgehostBoard
from edgegate.devices.transports import SerialTransport, TcpTransport


class BoardUnderTest:
    """`connect()` a raw session (the plugin's own link hangs up first), `reset()`, the key,
    the profile, the runtime, and how long one call may run before the engine stops it."""

    def __init__(self, board: EdgehostBoard, profile_name: str, runtime: str, baud: int):
        self.board = board
        self.key = board.key
        self.profile = profiles.profile(profile_name)
        self.runtime = runtime
        self.baud = baud
        self.deadline_ms = self.profile.limits["call_deadline_ms"]

    async def connect(self) -> Gateway:
        self.board.disconnect()
        address = self.board.address
        if address.startswith("tcp://"):
            host, _, port = address.removeprefix("tcp://").rpartition(":")
            transport = await TcpTransport.connect(host, int(port))
        else:
            transport = await SerialTransport.open(address, self.baud)
        return await open_gateway(transport, self.key.board_id, self.key.pairing_key)

    def reset(self) -> None:
        """The plugin's reset: the simulator boots again on its flash, a real board through
        RTS; the plugin's link hangs up again so that a session can open."""
        self.board.reset()
        self.board.disconnect()

    def registry_entry(self) -> dict[str, object]:
        address = self.board.address
        where = ({"tcp": address.removeprefix("tcp://")} if address.startswith("tcp://")
                 else {"port": address, "baud": self.baud})
        return {"board_id": self.key.board_id, "pairing_key": self.key.pairing_key.hex(),
                **where}
