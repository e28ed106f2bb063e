"""Fixtures for the tests that run `edgehost up` as a user does."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def up_env(tmp_path):
    """The environment up runs in: its state and keys in tmp_path, no WASMCLOUD_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASMCLOUD_")}
    env.update(EDGEHOST_STATE_DIR=str(tmp_path / "state"), EDGEHOST_KEYS_DIR=str(tmp_path / "k"))
    return env
