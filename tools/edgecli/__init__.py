"""The `edgehost` command line: argument parsing in main.py, one function per command."""
