"""The `joist` command: the only place where services are wired to their entry points."""
