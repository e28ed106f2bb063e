"""Test kit for the lattice: real nats-server topologies and a plain wasmbus-era provider."""
