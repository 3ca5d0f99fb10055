"""Row level security tooling: the isolation harness (WS4), its world, and the schema fingerprint."""
