"""Link definitions as a host passes them on: events, and puts and deletes to providers."""
