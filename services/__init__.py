"""Joist services: one distribution whose `joist` command runs any of them."""
