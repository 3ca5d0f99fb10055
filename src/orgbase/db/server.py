"""The embedded PostgreSQL cluster: one per ``ORGBASE_HOME``, on loopback and a private unix socket.

Layout under the home folder::

    pgdata/         the cluster (owned by the server's OS user, 0700)
    run/            the unix socket (or a short folder in /tmp when this path is too long for one)
    log/            the server log
    cluster.json    port, socket folder, OS user: what ``url`` needs to reach the server
    secrets.json    generated passwords, 0600, readable by the invoking user only

PostgreSQL refuses to run as root, so when orgbase runs as root the server runs as an unprivileged user
(``postgres`` when it exists, else a system user ``orgbase`` made for it).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from orgbase.config import Settings
from orgbase.errors import BinariesMissing, ServerError

Role = Literal["superuser", "service", "app", "shadow"]
ROLES: tuple[Role, ...] = ("superuser", "service", "app", "shadow")
SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the terminating NUL


@dataclass
class ClusterState:
    """What ``cluster.json`` records: where the server listens, who runs it, whether roles exist."""

    port: int
    socket_dir: str
    os_user: str | None = None
    bootstrapped: str | None = None


@dataclass(frozen=True)
class ServerStatus:
    """What ``orgbase db status`` reports."""

    initialized: bool
    running: bool
    pid: int | None
    port: int | None
    data_dir: Path


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl and postgres, or BinariesMissing with how to get them."""
    explicit = os.environ.get("ORGBASE_PG_BINDIR")
    if explicit:  # an explicit folder is the only place looked at, so a wrong one is an error
        candidates = [Path(explicit)]
    else:
        on_path = shutil.which("pg_ctl")
        candidates = [Path(on_path).resolve().parent] if on_path else []
        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise BinariesMissing(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found.\n"
        "Install them with `apt-get install postgresql` (Debian; `make run` does this for you), "
        "or point ORGBASE_PG_BINDIR at their folder, or set ORGBASE_DATABASE_URL and "
        "ORGBASE_APP_DATABASE_URL to use a server you already have."
    )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in path.parent.name.split(".") if p.isdigit())


class EmbeddedCluster:
    """A PostgreSQL cluster that orgbase initialises, starts and stops itself."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.home.resolve()
        self.data = self.home / "pgdata"
        self.log_file = self.home / "log" / "postgres.log"
        self.state_file = self.home / "cluster.json"
        self.secrets_file = self.home / "secrets.json"

    # -- public verbs -------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        """Whether the cluster exists and a live postmaster serves it."""
        port = self._state().port if self.state_file.exists() else None
        pid = self._live_pid()
        return ServerStatus(
            initialized=(self.data / "PG_VERSION").is_file(),
            running=pid is not None,
            pid=pid,
            port=port,
            data_dir=self.data,
        )

    def start(self) -> bool:
        """Initialise on first use, start unless running; True if this call started it."""
        bindir = find_bindir()
        fresh = not (self.data / "PG_VERSION").is_file()
        if fresh:
            self._initdb(bindir)
        if self._live_pid() is not None:
            return False
        self._clear_stale_pidfile()
        self._ensure_port_free()
        self._write_conf()
        self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "start",
            ],
            what="start PostgreSQL",
        )
        return True

    def stop(self) -> bool:
        """Stop the server if it runs (fast shutdown); True if it was running."""
        if self._live_pid() is None:
            return False
        self._run(
            [str(find_bindir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
            what="stop PostgreSQL",
        )
        return True

    def url(self, role: Role, database: str | None = None) -> str:
        """A libpq URL for ``role`` over the cluster's unix socket."""
        state, pw = self._state(), self._secrets()
        user = {
            "superuser": SUPERUSER,
            "service": self.settings.service_role,
            "app": self.settings.app_role,
            "shadow": self.settings.shadow_role,
        }[role]
        db = database or (SUPERUSER if role == "superuser" else self.settings.database_name)
        return (
            f"postgresql://{quote(user, safe='')}:{quote(pw[role], safe='')}@/{quote(db, safe='')}"
            f"?host={quote(state.socket_dir, safe='/')}&port={state.port}"
        )

    def password(self, role: Role) -> str:
        """The generated password of ``role`` (created on first use)."""
        return self._secrets()[role]

    # -- initialisation -------------------------------------------------------------------------

    def _initdb(self, bindir: Path) -> None:
        owner = self._os_user()
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o711)  # the server's user may traverse; secrets.json stays 0600
        if owner is not None:
            self._make_reachable(owner)
        pw = self._secrets()
        socket_dir = self._socket_dir()
        for folder in (self.data, self.log_file.parent, socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
            if owner is not None:
                os.chown(folder, owner.pw_uid, owner.pw_gid)
        self._save_state(
            ClusterState(
                port=_free_port(), socket_dir=str(socket_dir), os_user=owner.pw_name if owner else None
            )
        )
        pwfile = self.log_file.parent / ".pwfile"
        pwfile.write_text(pw["superuser"] + "\n")
        pwfile.chmod(0o600)
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ],
                what="initialise the cluster (initdb)",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'orgbase.conf'\n")

    def _write_conf(self) -> None:
        state = self._state()
        durable = "on" if self.settings.durable else "off"
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"port = {state.port}",
            f"unix_socket_directories = '{state.socket_dir}'",
            "unix_socket_permissions = 0700",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            f"fsync = {durable}",
            f"synchronous_commit = {durable}",
            f"full_page_writes = {durable}",
            "log_min_messages = warning",
        ]
        conf = self.data / "orgbase.conf"
        conf.write_text("\n".join(lines) + "\n")
        owner = self._os_user()
        if owner is not None:
            os.chown(conf, owner.pw_uid, owner.pw_gid)

    def _socket_dir(self) -> Path:
        """``home/run`` when a socket path fits there, else a short private folder in /tmp."""
        preferred = self.home / "run"
        if len(str(preferred / ".s.PGSQL.65535")) <= _SOCKET_PATH_MAX:
            return preferred
        # Created 0700 and owned by the server's user: private even in /tmp.
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path("/tmp") / f"orgbase-{digest}"  # noqa: S108

    def _make_reachable(self, owner: pwd.struct_passwd) -> None:
        """Let the server's user traverse every ancestor of home (checkouts under /root are 0700)."""
        for folder in reversed(self.home.parents):
            info = folder.stat()
            if _can_traverse(info, owner):
                continue
            folder.chmod(stat.S_IMODE(info.st_mode) | stat.S_IXOTH)
            print(
                f"orgbase: made {folder} traversable (o+x) so that {owner.pw_name} can reach {self.data}",
                file=sys.stderr,
            )

    # -- running as root ------------------------------------------------------------------------

    def _os_user(self) -> pwd.struct_passwd | None:
        """The unprivileged user that runs the server, or None when we are not root."""
        if os.geteuid() != 0:
            return None
        name = self.settings.pg_os_user or ("postgres" if _user_exists("postgres") else "orgbase")
        if not _user_exists(name):
            self._run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ],
                what=f"create OS user {name}",
                as_owner=False,
            )
        return pwd.getpwnam(name)

    def _run(self, cmd: list[str], *, what: str, as_owner: bool = True) -> None:
        owner = self._os_user() if as_owner else None
        extra: dict[str, object] = {}
        if owner is not None:
            extra = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "cwd": "/"}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, **extra)  # type: ignore[call-overload]
        if proc.returncode != 0:
            tail = self._log_tail()
            raise ServerError(f"could not {what} (exit {proc.returncode}):\n{proc.stderr.strip()}{tail}")

    # -- state files ----------------------------------------------------------------------------

    def _state(self) -> ClusterState:
        if not self.state_file.exists():
            raise ServerError(f"no embedded cluster under {self.home}: run `orgbase db start` first")
        return ClusterState(**json.loads(self.state_file.read_text()))

    def _save_state(self, state: ClusterState) -> None:
        self.state_file.write_text(json.dumps(asdict(state), indent=2) + "\n")

    def _secrets(self) -> dict[str, str]:
        """Generated passwords, created once; the file is 0600 and never leaves the home folder."""
        data: dict[str, str] = {}
        if self.secrets_file.exists():
            data = json.loads(self.secrets_file.read_text())
            if all(role in data for role in ROLES):
                return data
        # First use, or a home made before a role existed: add what is missing, atomically, still 0600.
        self.home.mkdir(parents=True, exist_ok=True)
        data |= {role: secrets.token_urlsafe(24) for role in ROLES if role not in data}
        fresh = self.secrets_file.with_name(f".{self.secrets_file.name}.{os.getpid()}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(fresh, self.secrets_file)
        return data

    # -- liveness -------------------------------------------------------------------------------

    def _live_pid(self) -> int | None:
        """The postmaster's pid if the pid file names a live postgres serving this data folder."""
        pid = _read_pid(self.data / "postmaster.pid")
        return pid if pid is not None and _is_postmaster_of(pid, self.data) else None

    def _clear_stale_pidfile(self) -> None:
        """A pid file left by a crash whose pid now belongs to another process would block start."""
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists() and self._live_pid() is None:
            pidfile.unlink()

    def _ensure_port_free(self) -> None:
        state = self._state()
        if not _port_free(state.port):
            taken, state.port = state.port, _free_port()
            self._save_state(state)
            print(f"orgbase: port {taken} is taken; the cluster now listens on {state.port}", file=sys.stderr)

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()[-15:]
        except OSError:
            return ""
        return "\n--- server log (last lines) ---\n" + "\n".join(lines) if lines else ""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _can_traverse(info: os.stat_result, user: pwd.struct_passwd) -> bool:
    mode = info.st_mode
    if info.st_uid == user.pw_uid:
        return bool(mode & stat.S_IXUSR)
    if info.st_gid == user.pw_gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def _read_pid(pidfile: Path) -> int | None:
    try:
        first = pidfile.read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None


def _is_postmaster_of(pid: int, data: Path) -> bool:
    """True if ``pid`` is a live postgres whose command line names ``data`` (not a reused pid)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and argv[0].endswith(b"postgres") and str(data).encode() in argv


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ensure_up(settings: Settings) -> EmbeddedCluster:
    """Start the embedded cluster (initialising it on first use) and bootstrap roles once."""
    from orgbase.db.bootstrap import VERSION, bootstrap  # psycopg is needed only once the server runs

    cluster = EmbeddedCluster(settings)
    cluster.start()
    state = cluster._state()
    done = f"{settings.role_prefix}/v{VERSION}"  # a newer bootstrap (more grants) runs again
    if state.bootstrapped != done:
        bootstrap(
            cluster.url("superuser"),
            settings,
            service_password=cluster.password("service"),
            app_password=cluster.password("app"),
            shadow_password=cluster.password("shadow"),
        )
        state.bootstrapped = done
        cluster._save_state(state)
    return cluster
