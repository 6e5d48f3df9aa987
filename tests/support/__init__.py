"""Real test servers (NATS, SMTP sink, PostgreSQL databases) and a whole Joist stack in child
processes, shared by the tests and the benchmarks."""
