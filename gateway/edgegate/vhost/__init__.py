"""The lattice host of one board: its key, labels, heartbeat, and its actors on the lattice."""
