"""The soaks' drivers: many invocations through the damaging link proxy, shared by the soak
benchmarks here and the reliability tests."""
