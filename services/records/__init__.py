"""The records service: collections of records in a database, one event per change."""
