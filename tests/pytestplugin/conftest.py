"""Tests of the pytest plugin: pytest runs a user's test files in a folder of their own, the
plugin loaded as an installed edgehost loads it (its entry point)."""
