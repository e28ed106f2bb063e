"""Fixtures for the claims tests: the edgehost command run in this process."""

from support.commands import edgehost

__all__ = ["edgehost"]
