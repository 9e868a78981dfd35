"""Prefect's documented layout for self-hosting at scale, with partner-review on it, on one machine.

    senders ──▶ haproxy :hooks ──▶ receiver-a, receiver-b (webhooks.app:app) ──┐
                                                                              ├─▶ PostgreSQL: app store
    workers ──▶ haproxy :api ───▶ api-a, api-b (prefect server start          │   and Prefect's database
    (worker-a, worker-b,            --no-services)  ◀──▶ Redis (messaging,    │
     process pool)                  services (prefect server services start)  ┘   leases, docket)

Every process is a `Service` (services.py); the PostgreSQL cluster and the Redis server are the
layout's own (`initdb`, `redis-server`), never the machine's. Flow runs send heartbeats; the
reaper (reaper.py) marks a review Crashed once they stop and schedules it again (the review's
side effects are guarded by the store, so a rerun repeats none).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from partner_review.deployments.definitions import WORK_POOL
from partner_review.deployments.production.services import NotReady, Service, environ_of, free_port, http_ok, marked

ROOT = Path(__file__).resolve().parents[2]  # the checkout: prefect.yaml and the flows' entrypoints
BIN = Path(sys.executable).parent
MARK = "PARTNER_REVIEW_LAYOUT_MARK"
SERVICE = "PARTNER_REVIEW_LAYOUT_SERVICE"  # which service a process belongs to (inherited)
HEARTBEAT_SECONDS = 30  # Prefect's minimum; the reaper calls a run lost after 2.5 of them


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise NotReady("PostgreSQL's initdb was not found (apt-get install postgresql)")


def _haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise NotReady("haproxy was not found (apt-get install haproxy)")
    return found


@dataclass
class Ports:
    postgres: int = field(default_factory=free_port)
    redis: int = field(default_factory=free_port)
    api: int = field(default_factory=free_port)  # the balancer's API front
    hooks: int = field(default_factory=free_port)  # the balancer's webhook front
    api_servers: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    receivers: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))


class Layout:
    """The whole layout under `directory`; `up()` starts it, `down()` leaves nothing running."""

    def __init__(self, directory: Path, *, secret: str, secret_key: str, extra_env: dict[str, str] | None = None):
        self.dir = directory
        self.logs = directory / "logs"
        self.ports = Ports()
        self.secret, self.secret_key = secret, secret_key
        self.extra_env = extra_env or {}
        # PostgreSQL runs as `postgres` when we are root: its directory must not sit under a 0700 one.
        self.pg_root = Path(tempfile.mkdtemp(prefix="partner-review-pg-"))
        self.services: dict[str, Service] = {}
        # Every process of the layout carries the mark, flow-run processes too (they leave their
        # worker's process tree), so `down()` finds whatever is left.
        self.mark = f"{directory}:{os.getpid()}"
        self._base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PARTNER_REVIEW_"))}
        self._base_env[MARK] = self.mark

    # Addresses --------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}/api"

    @property
    def hooks_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.hooks}"

    def database_url(self, database: str, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.ports.postgres}/{database}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    # Environments -----------------------------------------------------------------------------

    def server_env(self) -> dict[str, str]:
        """Prefect's servers and services: PostgreSQL, Redis messaging, leases and docket."""
        return {
            **self._base_env,
            "PREFECT_HOME": str(self.dir / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self.database_url("prefect", "asyncpg"),
            "PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
            "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
            "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
            "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
            "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
            "PREFECT_REDIS_MESSAGING_URL": self.redis_url,
            "PREFECT_SERVER_DOCKET_URL": f"redis://127.0.0.1:{self.ports.redis}/1",
        }

    def client_env(self, **extra: str) -> dict[str, str]:
        """Workers, receivers and commands: the balancer's API, the app's store on PostgreSQL."""
        return {
            **self._base_env,
            "PREFECT_HOME": str(self.dir / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_API_URL": self.api_url,
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
            "PARTNER_REVIEW_HOME": str(ROOT),
            "PARTNER_REVIEW_DATA_DIR": str(self.dir / "data"),
            "PARTNER_REVIEW_DATABASE_URL": self.database_url("app"),
            "PARTNER_REVIEW_WEBHOOK_SECRET": self.secret,
            "PARTNER_REVIEW_SECRET_KEY": self.secret_key,
            "PARTNER_REVIEW_DISPATCH": "deployment",
            "PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS": "1",
            **self.extra_env,
            **extra,
        }

    # Processes --------------------------------------------------------------------------------

    def _service(self, name: str, argv: list[str], env: dict[str, str], **options) -> Service:
        service = Service(name, argv, {**env, SERVICE: name}, self.logs, ROOT, **options)
        self.services[name] = service
        return service

    def run(self, name: str, argv: list[str], env: dict[str, str], *, timeout: float = 300, user: str | None = None):
        """A command to its end; its output is kept in the logs. NotReady when it fails."""
        self.logs.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, user=user, group=user
        )
        with open(self.logs / f"{name}.log", "a") as log:
            log.write(f"$ {' '.join(argv)}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}\n")
        if done.returncode != 0:
            raise NotReady(
                f"`{' '.join(argv)}` exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        return done

    def _postgres(self) -> None:
        bin_dir = _postgres_bin()
        user = "postgres" if os.geteuid() == 0 else None
        data, sockets = self.pg_root / "data", self.pg_root / "sockets"
        os.chmod(self.pg_root, 0o711)
        sockets.mkdir()
        if user:
            shutil.chown(self.pg_root, user)
            shutil.chown(sockets, user)
        env = {**self._base_env, "LC_ALL": "C.UTF-8"}
        self.run(
            "initdb",
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            env,
            user=user,
        )
        argv = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.ports.postgres), "-k", str(sockets),
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "fsync=on"]  # fmt: skip
        isready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.ports.postgres), "-q"]

        def ready() -> bool:
            return subprocess.run(isready, check=False).returncode == 0

        self._service("postgres", argv, env, ready=ready, user=user).start().wait_ready(60)
        for database in ("prefect", "app"):
            self.run(f"createdb-{database}", [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p",
                                              str(self.ports.postgres), "-U", "postgres", database], env)  # fmt: skip

    def _redis(self) -> None:
        redis = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [redis, "--port", str(self.ports.redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        ready = lambda: _redis_ping(self.ports.redis)  # noqa: E731
        self._service("redis", argv, self._base_env, ready=ready).start().wait_ready(30)

    def _haproxy(self) -> None:
        config = self.dir / "haproxy.cfg"
        config.write_text(haproxy_config(self.ports))
        argv = [_haproxy(), "-f", str(config), "-db"]
        ready = lambda: http_ok(f"{self.api_url}/health")  # noqa: E731
        self._service("haproxy", argv, self._base_env, ready=ready).start().wait_ready(180)

    def up(self, *, ready_seconds: float = 240) -> Layout:
        """Start every process in order and create the work pool, deployments, automations and store."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._postgres()
        self._redis()
        self.run("prefect-db-upgrade", [str(BIN / "prefect"), "server", "database", "upgrade", "-y"], self.server_env())
        # One after the other: API servers starting together race to register Prefect's blocks.
        for name, port in zip(("api-a", "api-b"), self.ports.api_servers):
            argv = [
                str(BIN / "prefect"),
                "server",
                "start",
                "--no-services",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            api = self._service(name, argv, self.server_env(), ready=_health(f"http://127.0.0.1:{port}/api/health"))
            api.start().wait_ready(ready_seconds)
        self._service("services", [str(BIN / "prefect"), "server", "services", "start"], self.server_env()).start()
        self._haproxy()
        client = self.client_env()
        self.run(
            "work-pool",
            [str(BIN / "prefect"), "work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"],
            client,
        )
        self.run("deploy", [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], client)
        self.run("db-upgrade", [str(BIN / "partner-review"), "db", "upgrade"], client)
        reap = [sys.executable, "-m", "partner_review.deployments.production", "reap", "--api", self.api_url]
        self._service("reaper", reap, client).start()
        for name in ("worker-a", "worker-b"):
            argv = [str(BIN / "prefect"), "worker", "start", "--pool", WORK_POOL, "--name", name, "--type", "process"]
            self._service(name, argv, client).start()
        for name, port in zip(("receiver-a", "receiver-b"), self.ports.receivers):
            argv = [str(BIN / "uvicorn"), "partner_review.webhooks.app:app", "--host", "127.0.0.1", "--port", str(port)]
            self._service(name, argv, client, ready=_health(f"http://127.0.0.1:{port}/healthz")).start()
        for name in ("receiver-a", "receiver-b", "services", "worker-a", "worker-b", "reaper"):
            self.services[name].wait_ready(ready_seconds)
        _wait(lambda: http_ok(f"{self.hooks_url}/healthz"), ready_seconds, "the balancer's webhook front")
        return self

    def kill(self, name: str) -> list[int]:
        """`kill -9` of a service and of every process it started, as when its machine is lost
        (a worker's flow-run processes included, though they leave its process tree)."""
        self.services[name].kill()
        pids = [pid for pid in marked(MARK, self.mark) if environ_of(pid).get(SERVICE) == name]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def restart(self, name: str, *, ready_seconds: float = 240) -> None:
        """Start a stopped or killed process again and wait until it is ready."""
        service = self.services[name]
        if service.alive():
            service.stop()
        service.start().wait_ready(ready_seconds)

    def down(self) -> list[int]:
        """Stop every process (newest first), then kill any marked one left; returns those pids."""
        for service in reversed(list(self.services.values())):
            service.stop()
        leftovers = marked(MARK, self.mark)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.pg_root, ignore_errors=True)
        return leftovers

    def report(self) -> str:
        return "\n".join(
            f"--- {s.name} ({'running' if s.alive() else 'stopped'}):\n{s.tail(3000)}" for s in self.services.values()
        )


def _health(url: str):
    return lambda: http_ok(url)


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise NotReady(f"{what} was not ready within {timeout:.0f} s")
        time.sleep(0.5)


def _redis_ping(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def haproxy_config(ports: Ports) -> str:
    """Both fronts, health-checked: Prefect's API on /api/health, the receivers on /healthz. A
    request that a dying server refused or left unanswered is retried on the other (`retry-on`,
    `option redispatch`): safe for the receivers, whose intake is idempotent by delivery id; for
    Prefect's API only a refused connection or an empty answer is retried."""
    api = "\n".join(f"    server api-{i} 127.0.0.1:{p} check" for i, p in enumerate(ports.api_servers))
    hooks = "\n".join(f"    server receiver-{i} 127.0.0.1:{p} check" for i, p in enumerate(ports.receivers))
    return f"""global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch
    default-server inter 1s fall 2 rise 1
frontend api
    bind 127.0.0.1:{ports.api}
    default_backend prefect_api
backend prefect_api
    option httpchk GET /api/health
    retry-on conn-failure empty-response
{api}
frontend hooks
    bind 127.0.0.1:{ports.hooks}
    default_backend receivers
backend receivers
    option httpchk GET /healthz
    option http-buffer-request
    retry-on conn-failure empty-response response-timeout
{hooks}
"""
