"""What the tests share: keys and key files, signed actors, a connected gateway, simulators
and the edgehost command (import as `from support.NAME import ...`)."""
