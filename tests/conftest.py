"""Fixtures are registered as plugins; each lives in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.cluster",
    "tests.fixtures.plans",
    "tests.fixtures.api",
    "tests.fixtures.redis",
    "tests.fixtures.pgbouncer",
]
