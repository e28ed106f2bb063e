"""Fixtures for the manifest tests: a real OCI registry (from the control tests' rig)."""

from support.borrowed import control_fixtures

oci_registry = control_fixtures().oci_registry
