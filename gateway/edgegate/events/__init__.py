"""Lattice events: CloudEvents 1.0 JSON on wasmbus.evt.{L} and wasmbus.rpcevt.{L}."""

from edgegate.events.cloudevents import EventPublisher, cloud_event

__all__ = ["EventPublisher", "cloud_event"]
