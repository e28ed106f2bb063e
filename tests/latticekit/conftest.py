"""The kit's own fixtures, for the kit's own tests."""

from latticekit.fixtures import nats_cluster, nats_leaf, nats_single, plain_providers

__all__ = ["nats_cluster", "nats_leaf", "nats_single", "plain_providers"]
