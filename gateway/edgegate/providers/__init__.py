"""Capability providers of a board host: native ones the gateway runs, and the board's own."""
