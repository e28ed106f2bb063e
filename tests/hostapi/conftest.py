"""Fixtures for the host API tests: a cluster seed, and the environment a Host reads."""

from __future__ import annotations

import pytest
from support.controlrig import oci_registry

from edgegate.wascap import KeyPair

__all__ = ["oci_registry"]


@pytest.fixture
def host_env(tmp_path):
    """What a Host reads instead of os.environ: one cluster seed, the default lattice."""
    return {"WASMCLOUD_CLUSTER_SEED": KeyPair.generate("cluster").seed,
            "WASMCLOUD_LATTICE_PREFIX": "default", "HOST_site": "lab", "ECHO_NAME": "echo"}

