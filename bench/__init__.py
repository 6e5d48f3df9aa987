"""Load and latency measurements against real Joist processes; never part of `make test`."""
