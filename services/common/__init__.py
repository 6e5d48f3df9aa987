"""Shared runtime of every Joist service; it imports no service."""
