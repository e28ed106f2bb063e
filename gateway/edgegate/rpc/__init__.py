"""wasmbus RPC: the invocation envelope, anti-forgery, and where a board's host calls go."""
