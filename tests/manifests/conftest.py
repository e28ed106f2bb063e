"""Fixtures for the manifest tests: a real OCI registry."""

from support.controlrig import oci_registry

__all__ = ["oci_registry"]
