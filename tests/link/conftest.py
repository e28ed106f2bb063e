"""Fixtures for the link tests: a fresh board-gateway pair, and one already connected."""

from __future__ import annotations

import pytest
from linkpair import LinkPair


@pytest.fixture
def pair() -> LinkPair:
    return LinkPair()


@pytest.fixture
def connected() -> LinkPair:
    link_pair = LinkPair()
    link_pair.connect()
    link_pair.hello()
    return link_pair
