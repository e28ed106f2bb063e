"""The gateway (CPython only): makes a board a host on a NATS lattice speaking wasmbus."""
