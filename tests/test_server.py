"""The embedded cluster's life: first start, reuse, stale pid file, clean stop, data kept, no binaries."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from orgbase.config import Settings
from orgbase.db.server import EmbeddedCluster, ensure_up, find_bindir
from orgbase.errors import BinariesMissing

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def deep_home(tmp_path: Path) -> Path:
    """A home whose socket path would pass 107 bytes, below a folder only root may enter (like /root)."""
    locked = tmp_path / "root-like"
    locked.mkdir(mode=0o700)
    home = locked / ("x" * 60) / ("y" * 40) / ".orgbase"
    home.parent.mkdir(parents=True)
    return home


def test_lifecycle(deep_home: Path) -> None:
    settings = Settings(home=deep_home, durable=False)
    cluster = EmbeddedCluster(settings)
    try:
        ensure_up(settings)
        first = cluster.status()
        assert first.running and first.initialized and first.port
        socket_dir = cluster._state().socket_dir
        assert socket_dir.startswith("/tmp/orgbase-") and len(socket_dir) + 16 <= 107
        if os.geteuid() == 0:  # the server's unprivileged user could enter the root-only ancestor
            assert deep_home.parents[2].stat().st_mode & stat.S_IXOTH
            assert deep_home.joinpath("pgdata").stat().st_uid != 0
        assert stat.S_IMODE(cluster.secrets_file.stat().st_mode) == 0o600

        assert cluster.start() is False  # idempotent: the running server is reused
        assert cluster.status().pid == first.pid
        with psycopg.connect(cluster.url("service"), autocommit=True) as conn:
            conn.execute('set role "orgbase_owner"; create table kept (x int); insert into kept values (42)')
        with pytest.raises(psycopg.OperationalError):  # password authentication, not trust
            psycopg.connect(cluster.url("service").replace(cluster.password("service"), "wrong"))

        assert cluster.stop() is True and cluster.stop() is False
        assert not cluster.status().running

        # A crash left a pid file whose pid now belongs to another live process.
        pidfile = cluster.data / "postmaster.pid"
        pidfile.write_text(f"{os.getpid()}\n{cluster.data}\n")
        assert cluster.start() is True
        with psycopg.connect(cluster.url("app")) as conn:  # data survived the restart
            assert conn.execute("select current_user").fetchone() == ("orgbase_app",)
        with psycopg.connect(cluster.url("service")) as conn:
            assert conn.execute("select x from kept").fetchone() == (42,)
    finally:
        cluster.stop()


def test_no_binaries_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGBASE_PG_BINDIR", str(tmp_path))
    with pytest.raises(BinariesMissing, match="apt-get install postgresql"):
        find_bindir()
    env = {**os.environ, "ORGBASE_PG_BINDIR": str(tmp_path), "ORGBASE_HOME": str(tmp_path / "home")}
    env.pop("ORGBASE_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "orgbase.cli", "db", "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 9
    assert "PostgreSQL server binaries" in proc.stderr and "Traceback" not in proc.stderr
