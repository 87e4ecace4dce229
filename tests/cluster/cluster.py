"""Cluster test: 2 x `aura serve` and 2 x `aura worker` over one fresh PostgreSQL
database and a private Redis, with a Standard Webhooks receiver, a graphql-transport-ws
subscriber and (when the binary exposes metrics) a real Prometheus scraping every process.

It drives a bounded mixed load (REST reads with API keys over both servers, GraphQL
`createLead` by Clerk-signed members on server B, a live subscription on server A),
SIGKILLs server B and worker 1 midway and restarts them, then checks:

  (a) the per-key rate limit is exact across the two servers (exactly `limit` 2xx);
  (b) no event is lost: every committed `lead.created` (the outbox, read back over REST,
      and every id a `createLead` returned) reached the receiver, verified by the
      reference `standardwebhooks` library;
  (c) the subscription on server A saw every lead created, those written through server B
      included;
  (d) Prometheus agrees with what was sent: `/v1/leads` requests by status code per
      process (exact, for every incarnation, the killed one included: reads to it are
      quiesced and scraped before the kill) and succeeded webhook attempts >= events
      received; and the alert rules in deploy/prometheus/alerts.yml evaluate without
      error on the real metrics, and every metric family of issue 16 was scraped.

How the kills stay both real and countable: before the SIGKILLs, REST reads stop going
to server B and the receiver stops answering (it records deliveries but holds the
responses); once Prometheus has scraped both victims after that moment, they are killed
with `createLead`s in flight to B and deliveries from worker 1 held open (the receiver
tells senders apart through /proc), then the receiver lets go. The killed incarnations'
last scraped counters are therefore final, and worker 1's held deliveries must come
back through the lease expiry (AURA_WEBHOOK_LEASE=10s here).

Against a binary without `--metrics-bind` (detected from `--help`, or `--no-metrics`)
check (d) is skipped and Prometheus is not started; the API port comes from the
`listening` log line either way (`address` = `ip:port`, or the older `address` + `port`).

Prints one summary table and a closing `cluster: N passed, N failed` line; exits 1 on
any failed check, 2 when the cluster could not be set up, 3 past --deadline. Usage
(normally through .ci/cluster.sh, which makes the venv):

  python tests/cluster/cluster.py path/to/aura [--metrics auto|on|off] [--writes N] ...

Needs: Python 3.11, `standardwebhooks`, `PyJWT[crypto]`, `websockets`; `psql` and
PostgreSQL on 127.0.0.1:5432 (user postgres or root, trust auth); `redis-server`;
`prometheus` unless metrics are off.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import collections
import datetime as dt
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from websockets.sync.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "api" / "fixtures"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
ISSUER = "https://clerk.test"
CLERK_ORG = "org_cluster"
POLL = 0.05  # seconds between two looks at anything we wait for

T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


class SetupError(Exception):
    """The cluster could not be brought up (exit 2, not a test failure)."""


def wait_until(what: str, predicate, timeout: float, interval: float = POLL):
    """Polls `predicate` until it returns something truthy; raises after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - reported if the deadline passes
            last_error = err
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def socket_owner(port: int, pids: dict[int, str]) -> str | None:
    """Which of `pids` holds the local TCP endpoint 127.0.0.1:`port` (Linux /proc): tells
    the receiver which worker incarnation sent a delivery. None when it cannot tell."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                        inode = fields[9]
                        break
        except (OSError, ValueError, IndexError, StopIteration):
            continue
        if inode:
            break
    if not inode:
        return None
    wanted = f"socket:[{inode}]"
    for pid, name in pids.items():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return name
                except OSError:
                    continue
        except OSError:
            continue
    return None


def rfc3339(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- HTTP

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, token: str | None = None, body=None, timeout: float = 15.0):
    """One request; returns (status, parsed JSON body or raw bytes, headers). Raises on
    connection errors (no status)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as err:
        status, raw, headers = err.code, err.read(), err.headers
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return status, parsed, headers


# ---------------------------------------------------------------------- processes

CHILDREN: list[subprocess.Popen] = []
_PDEATHSIG = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def spawn(argv, env, stdout_path: Path, stderr_path: Path) -> subprocess.Popen:
    """Starts a child that dies with us even on SIGKILL (setpriv --pdeathsig, when
    present; only ever called from the main thread, whose death is what it watches)."""
    with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        proc = subprocess.Popen(
            _PDEATHSIG + [str(a) for a in argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    CHILDREN.append(proc)
    return proc


def stop_children() -> None:
    live = [p for p in CHILDREN if p.poll() is None]
    for p in live:
        try:
            p.terminate()
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    for p in live:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class LogTail:
    """Reads a child's log file incrementally (never blocks: the file is polled)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.records: list[dict] = []

    def poll(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()
        new = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                # Flattened events (fields beside `message`) or nested under `fields`.
                fields = record.get("fields")
                if isinstance(fields, dict):
                    record = {**record, **fields}
                new.append(record)
        self.records.extend(new)
        return new

    def tail(self, n: int = 25) -> str:
        try:
            lines = self.path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(lines[-n:])


def listening_address(record: dict) -> str | None:
    """The API address from a `listening…` line: `address` = `ip:port` (new servers) or
    `address` = ip plus `port` (the baseline's `listening; GraphQL playground at …`)."""
    message = str(record.get("message", ""))
    if not message.startswith("listening"):
        return None
    address = str(record.get("address", ""))
    if not address:
        return None
    if address.count(":") == 0 and "port" in record:
        address = f"{address}:{record['port']}"
    return address if ":" in address else None


def metrics_address(record: dict) -> str | None:
    message = str(record.get("message", ""))
    if message.startswith("metrics") and "listening" in message and record.get("address"):
        address = str(record["address"])
        if ":" not in address and "port" in record:
            address = f"{address}:{record['port']}"
        return address
    return None


class AuraProcess:
    """One `aura serve` or `aura worker` incarnation."""

    def __init__(self, cluster: "Cluster", name: str, role: str, incarnation: int):
        self.cluster = cluster
        self.name = name  # serve-a, serve-b, worker-1, worker-2
        self.role = role  # serve | worker
        self.incarnation = incarnation
        self.key = f"{name}#{incarnation}"
        self.proc: subprocess.Popen | None = None
        self.log = LogTail(cluster.work / f"{self.key}.err")
        self.api: str | None = None  # host:port
        self.metrics: str | None = None
        self.killed = False
        self.started_at = 0.0
        self.worker_line = False

    def start(self) -> None:
        argv = [self.cluster.aura, self.role]
        if self.role == "serve":
            argv += ["--bind", "127.0.0.1:0", "--webhook-dispatcher", "false"]
        self.started_at = time.monotonic()
        self.proc = spawn(argv, self.cluster.env(metrics=self.cluster.metrics),
                          self.cluster.work / f"{self.key}.out", self.log.path)

    def wait_ready(self, timeout: float = 45.0) -> None:
        def ready():
            for record in self.log.poll():
                if self.api is None and self.role == "serve":
                    self.api = listening_address(record)
                if self.metrics is None:
                    self.metrics = metrics_address(record)
                message = str(record.get("message", ""))
                if self.role == "worker" and "worker" in message:
                    self.worker_line = True
            if self.proc.poll() is not None:
                raise SetupError(f"{self.key} exited with {self.proc.returncode}:\n{self.log.tail()}")
            if self.role == "serve" and self.api is None:
                return False
            if self.cluster.metrics and self.metrics is None:
                return False
            if self.role == "worker" and not self.cluster.metrics and not self.worker_line:
                return False
            return True

        try:
            wait_until(f"{self.key} to log its addresses", ready, timeout)
        except TimeoutError as err:
            raise SetupError(f"{err}\n{self.log.tail()}") from None
        if self.role == "serve":
            wait_until(f"{self.key} /health", lambda: http("GET", self.url("/health"), timeout=2)[0] == 200, 30)

    def url(self, path: str) -> str:
        return f"http://{self.api}{path}"

    def sigkill(self) -> None:
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


# ---------------------------------------------------------------- webhook receiver

class Receiver:
    """Every POST is verified with the reference library and its event id recorded. In
    `hold` mode requests are recorded but not answered until `release` (so a worker can
    be killed with deliveries in flight, after Prometheus has its final counts)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secret: str | None = None
        self.deliveries = 0
        self.verified = 0
        self.rejected: list[str] = []
        self.events: dict[str, dict] = {}  # evt_ -> {"type", "lead", "count"}
        self.held = 0
        self.held_by: collections.Counter = collections.Counter()  # sender -> held requests
        self.by_sender: collections.Counter = collections.Counter()  # sender -> deliveries
        self.senders: dict[int, str] = {}  # pid -> process key, for attribution
        self.released = threading.Event()
        self.released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    pids = dict(receiver.senders)
                sender = socket_owner(self.client_address[1], pids) or "unknown"
                receiver.record(self.headers, body, sender)
                if not receiver.released.is_set():
                    with receiver.lock:
                        receiver.held += 1
                        receiver.held_by[sender] += 1
                    receiver.released.wait(timeout=30)
                try:
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender was killed while we held its request

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a sender SIGKILLed mid-request resets its connection: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/aura-hooks"

    def record(self, headers, body: bytes, sender: str) -> None:
        with self.lock:
            self.deliveries += 1
            self.by_sender[sender] += 1
            secret = self.secret
        try:
            if secret is None:
                raise WebhookVerificationError("no secret yet")
            payload = Webhook(secret).verify(body, {
                "webhook-id": headers.get("webhook-id", ""),
                "webhook-timestamp": headers.get("webhook-timestamp", ""),
                "webhook-signature": headers.get("webhook-signature", ""),
            })
        except Exception as err:  # noqa: BLE001 - any failure is a rejected delivery
            with self.lock:
                self.rejected.append(f"{headers.get('webhook-id')}: {err}")
            return
        event_id = headers.get("webhook-id")
        with self.lock:
            self.verified += 1
            entry = self.events.setdefault(event_id, {
                "type": payload.get("type"),
                "lead": (payload.get("data") or {}).get("id"),
                "count": 0,
            })
            entry["count"] += 1

    def hold(self) -> None:
        with self.lock:
            self.held = 0
            self.held_by.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def snapshot(self) -> dict[str, dict]:
        with self.lock:
            return {k: dict(v) for k, v in self.events.items()}

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


# -------------------------------------------------------------------- subscription

# The `EventType` enum names the subscription answers with, in the REST and webhook spelling.
WIRE_TYPES = {"LEAD_CREATED": "lead.created"}


class Subscriber:
    """A graphql-transport-ws client on one server, subscribed to `lead.created`."""

    def __init__(self, url: str, token: str, since: str):
        self.url, self.token, self.since = url, token, since
        self.events: dict[str, dict] = {}
        self.errors: list[str] = []
        self.acked = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        if not self.acked.wait(timeout):
            raise SetupError(f"subscription not acknowledged in {timeout:.0f}s: {self.errors}")

    def run(self) -> None:
        kwargs = {"subprotocols": ["graphql-transport-ws"], "open_timeout": 10, "close_timeout": 2}
        try:
            try:
                ws = ws_connect(self.url, proxy=None, **kwargs)
            except TypeError:  # websockets < 15 has no proxy support to turn off
                ws = ws_connect(self.url, **kwargs)
        except Exception as err:  # noqa: BLE001
            self.errors.append(f"connect: {err}")
            return
        with ws:
            try:
                ws.send(json.dumps({"type": "connection_init",
                                    "payload": {"Authorization": f"Bearer {self.token}"}}))
                ack = json.loads(ws.recv(timeout=10))
                if ack.get("type") != "connection_ack":
                    self.errors.append(f"expected connection_ack, got {ack}")
                    return
                ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": "subscription ClusterWatch($since: DateTime) {"
                             " events(types: [LEAD_CREATED], since: $since) { id type createdAt data } }",
                    "variables": {"since": self.since},
                }}))
                self.acked.set()
                while not self.stop.is_set():
                    try:
                        raw = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "next":
                        payload = message.get("payload") or {}
                        if payload.get("errors"):
                            self.errors.append(json.dumps(payload["errors"])[:300])
                        event = (payload.get("data") or {}).get("events")
                        if event:
                            data = event.get("data")
                            if isinstance(data, str):
                                data = json.loads(data)
                            with self.lock:
                                # GraphQL's enum name, stored in REST's spelling.
                                self.events[event["id"]] = {"type": WIRE_TYPES.get(event["type"], event["type"]),
                                                            "lead": (data or {}).get("id")}
                    elif kind == "ping":
                        ws.send(json.dumps({"type": "pong"}))
                    elif kind in ("error", "complete"):
                        self.errors.append(f"{kind}: {json.dumps(message)[:300]}")
                        return
            except Exception as err:  # noqa: BLE001
                if not self.stop.is_set():
                    self.errors.append(f"socket: {err}")
            finally:
                self.acked.set()

    def snapshot(self) -> dict[str, dict]:
        with self.lock:
            return dict(self.events)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------- Prometheus

class Prometheus:
    def __init__(self, cluster: "Cluster"):
        self.cluster = cluster
        self.dir = cluster.work / "prometheus"
        self.dir.mkdir()
        self.url = None
        self.proc = None
        self.log = LogTail(self.dir / "prometheus.err")

    def write_targets(self, processes: list[AuraProcess]) -> None:
        for role in ("serve", "worker"):
            groups = [{
                "targets": [p.metrics],
                "labels": {"cluster_proc": p.name, "cluster_incarnation": str(p.incarnation)},
            } for p in processes if p.role == role and p.metrics and not p.killed]
            tmp = self.dir / f"{role}.json.tmp"
            tmp.write_text(json.dumps(groups))
            tmp.replace(self.dir / f"{role}.json")

    def start(self, binary: str) -> None:
        rules = ""
        if ALERTS.exists():
            shutil.copy(ALERTS, self.dir / "alerts.yml")
            rules = "rule_files: [alerts.yml]\n"
        (self.dir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            + rules
            + "scrape_configs:\n"
            + "".join(
                f"  - job_name: aura-{role}\n"
                f"    file_sd_configs: [{{files: ['{self.dir / role}.json'], refresh_interval: 1s}}]\n"
                for role in ("serve", "worker")
            )
        )
        for attempt in range(5):
            port = free_port()
            self.proc = spawn([binary, f"--config.file={self.dir / 'prometheus.yml'}",
                               f"--storage.tsdb.path={self.dir / 'data'}",
                               f"--web.listen-address=127.0.0.1:{port}",
                               "--storage.tsdb.retention.time=1d", "--log.level=warn"],
                              self.cluster.env(), self.dir / "prometheus.out", self.log.path)
            self.url = f"http://127.0.0.1:{port}"
            try:
                wait_until("prometheus /-/ready", self._ready, 30)
                return
            except TimeoutError as err:
                if self.proc.poll() is None:
                    raise SetupError(f"{err}\n{self.log.tail()}") from None
                log(f"prometheus exited on port {port} (attempt {attempt + 1}); retrying")
        raise SetupError(f"prometheus did not start:\n{self.log.tail()}")

    def _ready(self):
        if self.proc.poll() is not None:
            raise TimeoutError("exited")  # surfaces as the last error
        return http("GET", f"{self.url}/-/ready", timeout=2)[0] == 200

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        status, body, _ = http("GET", f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}", timeout=10)
        if status != 200 or body.get("status") != "success":
            raise RuntimeError(f"query {expr!r}: {status} {body}")
        return body["data"]["result"]

    def targets_up(self, expected: set[str]) -> bool:
        status, body, _ = http("GET", f"{self.url}/api/v1/targets?state=active", timeout=5)
        up = {t["labels"].get("cluster_proc", "") + "#" + t["labels"].get("cluster_incarnation", "")
              for t in body["data"]["activeTargets"] if t["health"] == "up"}
        return expected <= up

    def last_scrape(self, process: AuraProcess) -> float:
        """Unix time of the newest scrape of that incarnation (0 when none)."""
        result = self.query(
            f'timestamp(up{{cluster_proc="{process.name}",cluster_incarnation="{process.incarnation}"}})')
        return float(result[0]["value"][1]) if result else 0.0

    def rules(self) -> list[dict]:
        status, body, _ = http("GET", f"{self.url}/api/v1/rules", timeout=5)
        return [r for g in body["data"]["groups"] for r in g["rules"]]


# ------------------------------------------------------------------------- cluster

class Cluster:
    def __init__(self, args):
        self.args = args
        self.aura = str(Path(args.aura).resolve())
        self.work = Path(tempfile.mkdtemp(prefix="aura-cluster-"))
        self.metrics = False
        # The pid in the name lets a later run drop a database left by a run that was
        # SIGKILLed (nothing can clean up after that).
        self.db_name = f"aura_cluster_{os.getpid()}_{secrets.token_hex(4)}"
        self.pg_user = None
        self.redis_url = None
        self.base_env = {k: v for k, v in os.environ.items()
                         if not k.startswith(("AURA_", "CLERK_", "OTEL_"))
                         and k not in ("DATABASE_URL", "REDIS_URL")
                         and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        self.base_env["NO_PROXY"] = self.base_env["no_proxy"] = "127.0.0.1,localhost"
        self.webhook_secret_key = base64.b64encode(os.urandom(32)).decode()
        self.processes: dict[str, AuraProcess] = {}  # name -> current incarnation
        self.history: list[AuraProcess] = []
        self.prometheus: Prometheus | None = None
        self.receiver: Receiver | None = None
        self.subscriber: Subscriber | None = None
        self.private_key = (FIXTURES / "test_only_rsa_a.pem").read_text()
        self.public_key = (FIXTURES / "test_only_rsa_a_pub.pem").read_text()

    # -- settings

    def env(self, metrics: bool = False) -> dict:
        env = dict(self.base_env)
        env.update({
            "DATABASE_URL": f"postgres://{self.pg_user}@{self.args.pg_host}:{self.args.pg_port}/{self.db_name}",
            "AURA_LOG_FORMAT": "json",
            "AURA_LOG": "info",
            "AURA_DB_MAX_CONNECTIONS": "8",
            "AURA_WEBHOOK_SECRET_KEY": self.webhook_secret_key,
            "AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "AURA_WEBHOOK_TIMEOUT": "5s",
            "AURA_WEBHOOK_LEASE": "10s",
            "AURA_RATE_LIMIT_PER_KEY": str(self.args.rate_limit),
            "AURA_RATE_LIMIT_PER_ORG": "1000000",
            "AURA_RATE_LIMIT_PER_IP": "1000",
            "CLERK_JWT_KEY": self.public_key,
            "CLERK_ISSUER": ISSUER,
        })
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if metrics:
            env["AURA_METRICS_BIND"] = "127.0.0.1:0"
        return env

    def detect_metrics(self) -> None:
        helps = []
        for role in ("serve", "worker"):
            out = subprocess.run([self.aura, role, "--help"], capture_output=True, text=True,
                                 timeout=30, env=self.base_env)
            helps.append("--metrics-bind" in out.stdout)
        supported = all(helps)
        if self.args.metrics == "on" and not supported:
            raise SetupError("--metrics on, but this binary has no --metrics-bind on serve and worker")
        self.metrics = supported and self.args.metrics != "off"
        if self.metrics:
            self.prometheus_bin = shutil.which(self.args.prometheus) or self.args.prometheus
            if not Path(self.prometheus_bin).exists():
                raise SetupError(f"no prometheus binary ({self.args.prometheus}); apt-get install prometheus")

    # -- PostgreSQL

    def psql(self, user: str, sql: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["psql", "-h", self.args.pg_host, "-p", str(self.args.pg_port), "-U", user, "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            capture_output=True, text=True, timeout=30, env=self.base_env)

    def create_database(self) -> None:
        errors = []
        for user in ("postgres", "root"):
            result = self.psql(user, f'CREATE DATABASE "{self.db_name}"')
            if result.returncode == 0:
                self.pg_user = user
                self.drop_orphans()
                return
            errors.append(f"{user}: {result.stderr.strip()}")
        raise SetupError("cannot create the database: " + "; ".join(errors))

    def drop_orphans(self) -> None:
        """Drops `aura_cluster_<pid>_…` databases whose run is gone (SIGKILLed earlier)."""
        listed = self.psql(self.pg_user, "SELECT datname FROM pg_database WHERE datname LIKE 'aura_cluster_%'")
        for name in listed.stdout.split():
            parts = name.split("_")
            if len(parts) == 4 and parts[2].isdigit() and name != self.db_name \
                    and not Path(f"/proc/{parts[2]}").exists():
                self.psql(self.pg_user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                log(f"dropped {name}, left by a run that is gone")

    def drop_database(self) -> None:
        if self.pg_user:
            result = self.psql(self.pg_user, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            if result.returncode != 0:
                log(f"warning: could not drop {self.db_name}: {result.stderr.strip()}")
            self.pg_user = None

    # -- Redis (private, its own port; never the shared one)

    def start_redis(self) -> None:
        for attempt in range(5):
            port = free_port()
            proc = spawn(["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
                          "--dir", self.work],
                         self.base_env, self.work / "redis.out", self.work / "redis.err")

            def pong():
                if proc.poll() is not None:
                    raise RuntimeError("redis-server exited")
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")

            try:
                wait_until("redis PONG", pong, 15)
                self.redis_url = f"redis://127.0.0.1:{port}/0"
                return
            except TimeoutError as err:
                if proc.poll() is None:
                    proc.kill()
                log(f"redis-server on {port} failed ({err}); attempt {attempt + 1}")
        raise SetupError("could not start a private redis-server")

    # -- CLI

    def cli(self, *argv) -> str:
        result = subprocess.run([self.aura, *argv], capture_output=True, text=True, timeout=60,
                                env={**self.env(), "AURA_LOG": "warn", "AURA_LOG_FORMAT": "text"})
        if result.returncode != 0:
            raise SetupError(f"aura {' '.join(argv)} failed: {result.stderr.strip()}")
        return result.stdout.strip().splitlines()[-1]

    # -- Clerk

    def clerk_token(self, user: str, role: str = "member") -> str:
        now = int(time.time())
        claims = {
            "sub": user, "iss": ISSUER, "iat": now, "nbf": now - 5, "exp": now + 60,
            "sid": f"sess_{user}", "sts": "active",
            "v": 2, "o": {"id": CLERK_ORG, "rol": role, "slg": "cluster", "per": ""},
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": "test-key-a"})

    # -- processes

    def start_process(self, name: str, role: str) -> AuraProcess:
        previous = self.processes.get(name)
        process = AuraProcess(self, name, role, previous.incarnation + 1 if previous else 1)
        process.start()
        self.processes[name] = process
        self.history.append(process)
        if self.receiver and role == "worker":
            with self.receiver.lock:
                self.receiver.senders[process.proc.pid] = process.key
        return process

    def publish_targets(self) -> None:
        if self.prometheus:
            self.prometheus.write_targets(list(self.processes.values()))

    def cleanup(self) -> None:
        for closer in (self.subscriber, self.receiver):
            if closer:
                try:
                    closer.close()
                except Exception:  # noqa: BLE001
                    pass
        stop_children()
        self.drop_database()
        if self.args.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------------------- load

class Load:
    """Paced REST reads (API keys, both servers) and GraphQL writes (Clerk members, on
    server B; on A while B is down). Counts every outcome per process incarnation."""

    def __init__(self, cluster: Cluster, keys: list[str], users: list[str]):
        self.c = cluster
        self.keys = keys
        self.users = users
        self.lock = threading.Lock()
        self.reads_excluded: set[str] = set()  # server names not to read from
        self.down: set[str] = set()  # server names not to write to
        self.inflight: collections.Counter = collections.Counter()  # proc key -> reads in flight
        self.read_status: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.read_errors: list[str] = []
        self.writes_ok: dict[str, str] = {}  # lead id -> proc key it was written through
        self.write_errors: list[str] = []
        self.writes_done = 0
        self.writes_inflight: collections.Counter = collections.Counter()  # proc key -> writes
        self.reads_done = 0
        self.started = 0.0
        self.threads: list[threading.Thread] = []

    def server(self, name: str) -> AuraProcess:
        return self.c.processes[name]

    def start(self) -> None:
        self.started = time.monotonic()
        self.next_write = 0
        self.next_read = 0
        for i in range(self.c.args.writers):
            self.threads.append(threading.Thread(target=self.writer, daemon=True, name=f"writer-{i}"))
        for i in range(self.c.args.readers):
            self.threads.append(threading.Thread(target=self.reader, daemon=True, name=f"reader-{i}"))
        for t in self.threads:
            t.start()

    def _take(self, kind: str, total: int, rate: float):
        with self.lock:
            index = getattr(self, f"next_{kind}")
            if index >= total:
                return None
            setattr(self, f"next_{kind}", index + 1)
        due = self.started + index / rate
        while (now := time.monotonic()) < due:  # pacing: short slices, not one long sleep
            time.sleep(min(0.05, due - now))
        return index

    def writer(self) -> None:
        args = self.c.args
        query = "mutation ClusterCreateLead($i: CreateLeadInput!) { createLead(input: $i) { id } }"
        while (i := self._take("write", args.writes, args.write_rate)) is not None:
            with self.lock:
                target = self.server("serve-a" if "serve-b" in self.down else "serve-b")
                self.writes_inflight[target.key] += 1
            token = self.c.clerk_token(self.users[i % len(self.users)])
            body = {"query": query, "variables": {"i": {
                "name": f"Cluster lead {i}", "email": f"lead{i}@cluster.test", "source": "cluster_test"}}}
            try:
                status, result, _ = http("POST", target.url("/graphql"), token, body, timeout=20)
                lead = ((result or {}).get("data") or {}).get("createLead") if isinstance(result, dict) else None
                with self.lock:
                    if status == 200 and lead and not result.get("errors"):
                        self.writes_ok[lead["id"]] = target.key
                    else:
                        self.write_errors.append(f"{target.key} {status} {str(result)[:200]}")
            except Exception as err:  # noqa: BLE001 - killed server: outcome unknown
                with self.lock:
                    self.write_errors.append(f"{target.key} {type(err).__name__}: {err}")
            with self.lock:
                self.writes_inflight[target.key] -= 1
                self.writes_done += 1

    def reader(self) -> None:
        args = self.c.args
        while (j := self._take("read", args.reads, args.read_rate)) is not None:
            with self.lock:
                names = [n for n in ("serve-a", "serve-b") if n not in self.reads_excluded]
                target = self.server(names[j % len(names)])
                self.inflight[target.key] += 1
            # Every 7th read is invalid (limit=0): a 400 to count by status too (7 is odd,
            # so they alternate between the servers).
            path = "/v1/leads?limit=0" if j % 7 == 6 else "/v1/leads?limit=5"
            try:
                status, _, _ = http("GET", target.url(path), self.keys[j % len(self.keys)], timeout=20)
                with self.lock:
                    self.read_status[target.key][str(status)] += 1
            except Exception as err:  # noqa: BLE001
                with self.lock:
                    self.read_errors.append(f"{target.key} {type(err).__name__}: {err}")
            with self.lock:
                self.inflight[target.key] -= 1
                self.reads_done += 1

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            raise TimeoutError("load threads still running at their deadline")


# ------------------------------------------------------------------------- the test

class Checks:
    def __init__(self):
        self.rows: list[tuple[str, str, str, bool | None]] = []

    def add(self, name: str, expected, observed, ok: bool | None) -> None:
        self.rows.append((name, str(expected), str(observed), ok))

    def failed(self) -> bool:
        return any(ok is False for *_, ok in self.rows)

    def print(self) -> None:
        order = {"(a)": 1, "(b)": 2, "(c)": 3, "(d)": 4}
        self.rows.sort(key=lambda row: order.get(row[0][:3], 0))  # stable: load rows first
        widths = [max(len(r[i]) for r in self.rows + [("check", "expected", "observed", None)])
                  for i in range(3)]
        widths = [min(w, 60) for w in widths]
        line = f"+-{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * widths[2]}-+--------+"
        print(line)
        print(f"| {'check':<{widths[0]}} | {'expected':<{widths[1]}} | {'observed':<{widths[2]}} | result |")
        print(line)
        for name, expected, observed, ok in self.rows:
            verdict = "PASS" if ok else ("skip" if ok is None else "FAIL")
            print(f"| {name[:widths[0]]:<{widths[0]}} | {expected[:widths[1]]:<{widths[1]}} "
                  f"| {observed[:widths[2]]:<{widths[2]}} | {verdict:<6} |")
        print(line)


def run(cluster: Cluster) -> int:
    args = cluster.args
    checks = Checks()
    timings: dict[str, float] = {}
    mark = time.monotonic()

    cluster.detect_metrics()
    log(f"binary {cluster.aura}; metrics {'on' if cluster.metrics else 'off (check (d) skipped)'}")
    cluster.create_database()
    log(f"database {cluster.db_name} (user {cluster.pg_user})")
    cluster.start_redis()
    log(f"private redis at {cluster.redis_url}")

    # Organization and keys (the CLI runs the migrations on the fresh database).
    cluster.cli("migrate")
    cluster.cli("orgs", "create", "--name", "Cluster Test", "--slug", "cluster", "--clerk-org-id", CLERK_ORG)
    budget = max(1, int(args.rate_limit * 0.75))  # per key / per user, for the load
    n_keys = math.ceil(args.reads / budget)
    n_users = math.ceil(args.writes / budget)
    scopes = "leads:read,webhooks:read,webhooks:write"

    def make_key(name):
        return cluster.cli("keys", "create", "--org", "cluster", "--name", name, "--scopes", scopes)

    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(make_key, ["ops", "rate-limit-1", "rate-limit-2"]
                                 + [f"load-{i}" for i in range(n_keys)]))
    ops_key, limit_keys, load_keys = created[0], created[1:3], created[3:]
    users = [f"user_cluster_{i}" for i in range(n_users)]
    log(f"organization `cluster`; {len(created)} API keys; {n_users} Clerk members for writes")

    cluster.receiver = Receiver()
    for name, role in (("serve-a", "serve"), ("serve-b", "serve"), ("worker-1", "worker"), ("worker-2", "worker")):
        cluster.start_process(name, role)
    for process in list(cluster.processes.values()):
        process.wait_ready()
    for p in cluster.processes.values():
        log(f"{p.key}: api {p.api or '-'} metrics {p.metrics or '-'}")

    if cluster.metrics:
        cluster.prometheus = Prometheus(cluster)
        cluster.publish_targets()
        cluster.prometheus.start(cluster.prometheus_bin)
        expected = {p.key for p in cluster.processes.values()}
        wait_until("prometheus to scrape all 4 processes", lambda: cluster.prometheus.targets_up(expected), 30, 0.2)
        log(f"prometheus at {cluster.prometheus.url} scraping {len(expected)} targets every 1 s")
    timings["setup"] = time.monotonic() - mark

    a = cluster.processes["serve-a"]
    status, body, _ = http("POST", a.url("/v1/webhooks"), ops_key,
                           {"url": cluster.receiver.url, "event_types": ["lead.created"]})
    if status != 201:
        raise SetupError(f"POST /v1/webhooks: {status} {body}")
    webhook_id = body["data"]["id"]
    with cluster.receiver.lock:
        cluster.receiver.secret = body["data"]["secret"]

    since = rfc3339(time.time() - 2)
    cluster.subscriber = Subscriber(f"ws://{a.api}/graphql/ws", cluster.clerk_token("user_cluster_watch"), since)
    cluster.subscriber.start()
    log(f"webhook {webhook_id} -> {cluster.receiver.url}; subscription open on {a.key}")

    # ---------------------------------------------------------------- load + kills
    mark = time.monotonic()
    load = Load(cluster, load_keys, users)
    load.start()
    log(f"load: {args.writes} createLead (~{args.write_rate}/s) on serve-b, {args.reads} REST reads "
        f"(~{args.read_rate}/s) over both servers")
    kill_at = int(args.writes * 0.4)
    wait_until(f"{kill_at} writes", lambda: load.writes_done >= kill_at, 120, 0.05)

    victim_server, victim_worker = cluster.processes["serve-b"], cluster.processes["worker-1"]
    # Quiesce reads to the victim server so its request counters are final, and hold
    # webhook answers so the victim worker's attempt counters are final, then wait for a
    # scrape of both that is newer than that moment: the killed incarnations' last
    # scraped values are then exact, while writes to B and deliveries from worker 1 are
    # still in flight when SIGKILL lands.
    with load.lock:
        load.reads_excluded.add("serve-b")
    wait_until("reads to serve-b to finish", lambda: load.inflight[victim_server.key] == 0, 30, 0.01)
    cluster.receiver.hold()
    quiet = time.time()
    if any(k != "unknown" for k in cluster.receiver.by_sender):  # senders can be told apart
        try:
            wait_until(f"a delivery from {victim_worker.key} in flight",
                       lambda: cluster.receiver.held_by[victim_worker.key] > 0, 10, 0.01)
        except TimeoutError as err:
            log(f"note: {err}")
    if cluster.prometheus:
        for victim in (victim_server, victim_worker):
            wait_until(f"a scrape of {victim.key} after the quiesce",
                       lambda v=victim: cluster.prometheus.last_scrape(v) >= quiet + 1.2, 15, 0.1)
    with load.lock:
        writes_in_flight = load.writes_inflight[victim_server.key]
        load.down.add("serve-b")
    victim_server.sigkill()
    victim_worker.sigkill()
    with cluster.receiver.lock:
        held, held_victim = cluster.receiver.held, cluster.receiver.held_by[victim_worker.key]
    cluster.receiver.release()
    log(f"SIGKILLed {victim_server.key} ({writes_in_flight} createLead in flight) and {victim_worker.key} "
        f"({held_victim} of its deliveries in flight; {held} held in all) after {load.writes_done} writes")
    killed_at = time.monotonic()

    new_server = cluster.start_process("serve-b", "serve")
    new_worker = cluster.start_process("worker-1", "worker")
    new_server.wait_ready()
    new_worker.wait_ready()
    cluster.publish_targets()
    with load.lock:
        load.down.discard("serve-b")
        load.reads_excluded.discard("serve-b")
    timings["restart"] = time.monotonic() - killed_at
    log(f"restarted as {new_server.key} (api {new_server.api}) and {new_worker.key} "
        f"in {timings['restart']:.1f}s")

    load.join(timeout=240)
    timings["load"] = time.monotonic() - mark
    log(f"load done: {len(load.writes_ok)} leads created, {len(load.write_errors)} write errors, "
        f"{load.reads_done} reads")

    # ------------------------------------------------- (b) and (c): nothing lost
    mark = time.monotonic()
    a = cluster.processes["serve-a"]

    def committed_events():
        found, cursor = {}, None
        while True:
            query = {"type": "lead.created", "limit": "100"}
            if cursor:
                query["cursor"] = cursor
            status, page, _ = http("GET", a.url(f"/v1/events?{urllib.parse.urlencode(query)}"), ops_key)
            if status != 200:
                raise RuntimeError(f"GET /v1/events: {status} {page}")
            for event in page["data"]:
                found[event["id"]] = (event.get("data") or {}).get("id")
            cursor = page["pagination"].get("next_cursor")
            if not page["pagination"].get("has_more") or not cursor:
                return found

    outbox = committed_events()  # event id -> lead id; every write has returned or failed
    outbox_leads = set(outbox.values())
    confirmed = dict(load.writes_ok)
    via_b = {lead for lead, key in confirmed.items() if key.startswith("serve-b")}

    def drained():
        got = cluster.receiver.snapshot()
        seen = cluster.subscriber.snapshot()
        if not (set(outbox) <= set(got) and set(outbox) <= set(seen)):
            return False
        status, page, _ = http("GET", a.url(f"/v1/webhooks/{webhook_id}/deliveries?status=pending&limit=1"), ops_key)
        return status == 200 and not page["data"]

    try:
        wait_until("every event delivered and seen, no delivery pending", drained, args.drain_timeout, 1.0)
    except TimeoutError as err:
        log(str(err))
    timings["drain"] = time.monotonic() - mark
    got = cluster.receiver.snapshot()
    seen = cluster.subscriber.snapshot()
    received_leads = {v["lead"] for v in got.values() if v["type"] == "lead.created"}
    seen_leads = {v["lead"] for v in seen.values()}
    missing_hooks = sorted(set(outbox) - set(got))
    missing_sub = sorted(set(outbox) - set(seen))
    duplicates = sum(v["count"] - 1 for v in got.values())

    checks.add("writes confirmed (createLead returned an id)", f"> 0 of {args.writes}",
               f"{len(confirmed)} ({len(load.write_errors)} failed/unknown)", len(confirmed) > 0)
    checks.add("(b) confirmed leads in the outbox", len(confirmed), len(set(confirmed) & outbox_leads),
               set(confirmed) <= outbox_leads)
    checks.add("(b) outbox lead.created received+verified", len(outbox), len(set(outbox) & set(got)),
               not missing_hooks)
    checks.add("(b) confirmed leads delivered", len(confirmed), len(set(confirmed) & received_leads),
               set(confirmed) <= received_leads)
    checks.add("(b) deliveries rejected by standardwebhooks", 0, len(cluster.receiver.rejected),
               not cluster.receiver.rejected)
    checks.add("(b) deliveries total (duplicates: at least once)", f">= {len(outbox)}",
               f"{cluster.receiver.deliveries} ({duplicates} duplicate)", cluster.receiver.deliveries >= len(outbox))
    attributed = sum(n for k, n in cluster.receiver.by_sender.items() if k != "unknown")
    checks.add("(b) SIGKILLed worker had deliveries in flight", ">= 1",
               held_victim if attributed else "cannot attribute senders",
               held_victim >= 1 if attributed else None)
    checks.add("(c) subscription on serve-a: outbox events", len(outbox), len(set(outbox) & set(seen)),
               not missing_sub)
    checks.add("(c) ... leads written through serve-b", f"{len(via_b)} (> 0)", len(via_b & seen_leads),
               bool(via_b) and via_b <= seen_leads)
    checks.add("(c) subscription errors", 0, len(cluster.subscriber.errors), not cluster.subscriber.errors)
    reads_429 = sum(c.get("429", 0) for c in load.read_status.values())
    checks.add("load reads failed without status", 0, len(load.read_errors), not load.read_errors)
    checks.add("load reads refused (429; budget sizing)", 0, reads_429, reads_429 == 0)
    if missing_hooks:
        log(f"missing webhook deliveries (first 5): {missing_hooks[:5]}")
    if missing_sub:
        log(f"missing from the subscription (first 5): {missing_sub[:5]}")
    if cluster.receiver.rejected:
        log(f"rejected deliveries (first 3): {cluster.receiver.rejected[:3]}")
    if cluster.subscriber.errors:
        log(f"subscription errors: {cluster.subscriber.errors[:3]}")

    # ------------------------------------------------------------ (a) rate limits
    # After the drain, so the machine is as quiet as it gets: a Redis check slower than
    # 250 ms makes an instance fall back to in-process limits (documented), which admits
    # more than the limit. Such a fallback is detected in the logs, reported, and the burst
    # is tried once more with a fresh key; a second fallback or any miscount fails.
    mark = time.monotonic()
    servers = [cluster.processes["serve-a"], cluster.processes["serve-b"]]
    for server in servers:  # warm up: each server's Redis connection and script (not /v1/leads)
        http("GET", server.url("/v1/webhooks?limit=1"), ops_key)
    for attempt, key in enumerate(limit_keys, 1):
        outcome = rate_limit_burst(args, servers, key, load)
        if not outcome["fallback"] or attempt == len(limit_keys):
            break
        log(f"burst {attempt}: {outcome['fallback']}; trying once more with a fresh key")

        def back_on_redis(since=outcome["log_marks"]):
            for server in servers:
                server.log.poll()
            return all(any("again" in str(r.get("message", "")) for r in server.log.records[since[server.key]:])
                       for server in servers if server.key in outcome["fallback"])

        try:
            wait_until("the limiter to be back on Redis", back_on_redis, 10, 0.1)
        except TimeoutError as err:
            log(f"note: {err}")
    checks.add("(a) per-key limit across 2 servers: 2xx", args.rate_limit, outcome["ok"],
               outcome["ok"] == args.rate_limit)
    checks.add("(a) ... 429", outcome["burst"] - args.rate_limit, outcome["refused"],
               outcome["refused"] == outcome["burst"] - args.rate_limit
               and outcome["ok"] + outcome["refused"] == outcome["burst"])
    checks.add("(a) limiter stayed on Redis (no fallback)", f"attempt 1 of {len(limit_keys)}",
               f"attempt {attempt}" + (f": {outcome['fallback']}" if outcome["fallback"] else ""),
               not outcome["fallback"])
    timings["rate limit"] = time.monotonic() - mark

    # ---------------------------------------------------- (d) what Prometheus saw
    mark = time.monotonic()
    if cluster.prometheus:
        check_metrics(cluster, load, got, checks)
    else:
        checks.add("(d) Prometheus agrees with what was sent", "-", "no metrics in this binary", None)
    timings["metrics"] = time.monotonic() - mark

    # ----------------------------------------------------------------- summary
    print()
    print("processes:")
    for p in cluster.history:
        state = "SIGKILLed" if p.killed else ("running" if p.proc.poll() is None else f"exited {p.proc.returncode}")
        if p.role == "serve":
            what = f"/v1/leads sent {fmt_counts(load.read_status.get(p.key, {}))}"
        else:
            what = f"deliveries sent {cluster.receiver.by_sender.get(p.key, 0)}"
        print(f"  {p.key:<11} {p.role:<6} api {p.api or '-':<21} metrics {p.metrics or '-':<21} {state:<10} {what}")
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
          + f", total {time.monotonic() - T0:.1f}s")
    checks.print()
    if checks.failed():
        for p in cluster.history:
            print(f"--- {p.key} log tail")
            print(p.log.tail(15))
    passed = sum(1 for *_, ok in checks.rows if ok)
    failed = sum(1 for *_, ok in checks.rows if ok is False)
    skipped = sum(1 for *_, ok in checks.rows if ok is None)
    print(f"cluster: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


def rate_limit_burst(args, servers: list[AuraProcess], key: str, load: Load) -> dict:
    """More requests than the per-key limit, all at once, alternating between the servers,
    with a key that has not been used: exactly `limit` may pass."""
    burst = args.rate_limit + max(10, args.rate_limit // 2)
    threads = min(burst, args.burst_concurrency)
    for server in servers:
        server.log.poll()  # what follows is this burst's
    log_marks = {server.key: len(server.log.records) for server in servers}
    gate = threading.Barrier(threads)

    def limited(i):
        target = servers[i % len(servers)]
        if i < threads:
            try:
                gate.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
        try:
            status, _, _ = http("GET", target.url("/v1/leads?limit=1"), key, timeout=30)
            return target.key, str(status)
        except Exception as err:  # noqa: BLE001
            return target.key, f"error {type(err).__name__}"

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(limited, range(burst)))
    with load.lock:
        for proc_key, status in outcomes:
            if not status.startswith("error"):
                load.read_status[proc_key][status] += 1
    per_status = collections.Counter(s for _, s in outcomes)
    fallback = [f"{s.key} fell back to in-process limits ({r.get('error', r.get('message'))})"
                for s in servers for r in s.log.poll()
                if r.get("level") == "WARN" and "redis" in str(r.get("message", "")).lower()]
    per_server = {k: dict(collections.Counter(st for kk, st in outcomes if kk == k)) for k in sorted({k for k, _ in outcomes})}
    log(f"rate limit: {burst} requests ({threads} at a time), limit {args.rate_limit}: {dict(per_status)}; "
        + "; ".join(f"{k} {v}" for k, v in per_server.items()) + (f"; {'; '.join(fallback)}" if fallback else ""))
    return {
        "burst": burst,
        "ok": sum(n for st, n in per_status.items() if st.startswith("2")),
        "refused": per_status.get("429", 0),
        "fallback": "; ".join(fallback),
        "log_marks": log_marks,
    }


def check_metrics(cluster: Cluster, load: Load, received: dict, checks: Checks) -> None:
    prom = cluster.prometheus
    window = int(time.monotonic() - T0) + 60
    route = "/v1/leads"
    sent = {key: {s: n for s, n in counts.items()} for key, counts in load.read_status.items()}
    live = {p.key for p in cluster.processes.values()}
    live_sent = collections.Counter()
    for key, counts in sent.items():
        if key in live:
            live_sent.update(counts)
    unique = len([e for e in received.values() if e["type"] == "lead.created"])

    def scraped_requests():
        result = prom.query(f'last_over_time(http_server_request_duration_seconds_count{{http_route="{route}"}}[{window}s])')
        per = collections.defaultdict(collections.Counter)
        for series in result:
            labels = series["metric"]
            key = f"{labels.get('cluster_proc')}#{labels.get('cluster_incarnation')}"
            per[key][labels.get("http_response_status_code", "?")] += int(float(series["value"][1]))
        return {k: dict(v) for k, v in per.items()}

    def literal_requests():
        result = prom.query(
            f'sum by (http_response_status_code)(http_server_request_duration_seconds_count{{http_route="{route}"}})')
        return {s["metric"].get("http_response_status_code", "?"): int(float(s["value"][1])) for s in result}

    def scraped_attempts():
        total = prom.query(f'sum(last_over_time(aura_webhook_attempts_total{{outcome="succeeded"}}[{window}s]))')
        current = prom.query('sum(aura_webhook_attempts_total{outcome="succeeded"})')
        value = lambda r: int(float(r[0]["value"][1])) if r else 0  # noqa: E731
        return value(total), value(current)

    state = {}

    def agrees():
        state["per"] = scraped_requests()
        state["literal"] = literal_requests()
        state["attempts"], state["attempts_live"] = scraped_attempts()
        return state["per"] == sent and state["literal"] == dict(live_sent) and state["attempts"] >= unique

    try:
        wait_until("Prometheus to agree with the counts", agrees, 20, 0.5)
    except TimeoutError as err:
        log(str(err))
    for p in cluster.history:
        if p.role != "serve":
            continue
        expected = sent.get(p.key, {})
        observed = state.get("per", {}).get(p.key, {})
        checks.add(f"(d) {route} by status, {p.key}{' (killed)' if p.killed else ''}",
                   fmt_counts(expected), fmt_counts(observed), expected == observed)
    checks.add(f"(d) sum by status {route}, live processes", fmt_counts(live_sent),
               fmt_counts(state.get("literal", {})), state.get("literal") == dict(live_sent))
    checks.add("(d) succeeded webhook attempts, all incarnations", f">= {unique} received",
               f"{state.get('attempts')} (live now: {state.get('attempts_live')})",
               (state.get("attempts") or 0) >= unique)
    rules = prom.rules()
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") not in ("ok", "unknown")]
    checks.add("(d) alert rules evaluate on real metrics", f"{len(rules)} healthy",
               f"{len(rules) - len(bad)} healthy" + (f"; {bad[0]}" if bad else ""), bool(rules) and not bad)
    families = [
        "http_server_request_duration_seconds_bucket", "http_server_active_requests",
        "graphql_server_operations_total", "graphql_server_operation_duration_seconds_bucket",
        "aura_rate_limit_decisions_total", "aura_webhook_attempts_total", "aura_webhook_pending_deliveries",
        "aura_webhook_oldest_pending_age_seconds", "aura_outbox_lag_seconds_bucket", "aura_websocket_connections",
        "aura_live_subscriptions", "db_client_connections_usage", "db_client_connections_max",
        "aura_key_cache_requests_total", "aura_ready", "aura_build_info",
    ]
    absent = [f for f in families if not prom.query(f"count(last_over_time({f}[{window}s]))")]
    if absent:
        log(f"metric families never scraped: {', '.join(absent)}")
    if state.get("per") != sent:
        log(f"/v1/leads by incarnation: sent {sent}; scraped {state.get('per')}")
    checks.add("(d) metric families scraped", len(families), f"{len(families) - len(absent)}"
               + (f"; absent: {', '.join(absent)}" if absent else ""), not absent)


def fmt_counts(counts) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(dict(counts).items())) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("aura", help="path to the aura binary")
    parser.add_argument("--metrics", choices=("auto", "on", "off"), default="auto",
                        help="auto: check Prometheus when the binary has --metrics-bind")
    parser.add_argument("--no-metrics", dest="metrics", action="store_const", const="off")
    parser.add_argument("--prometheus", default="prometheus", help="the prometheus binary")
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--write-rate", type=float, default=12.0, help="createLead per second")
    parser.add_argument("--read-rate", type=float, default=12.0, help="REST reads per second")
    parser.add_argument("--writers", type=int, default=6)
    parser.add_argument("--readers", type=int, default=6)
    parser.add_argument("--rate-limit", type=int, default=100, help="AURA_RATE_LIMIT_PER_KEY")
    parser.add_argument("--burst-concurrency", type=int, default=64,
                        help="requests in flight at once in the rate-limit burst")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--deadline", type=float, default=290.0,
                        help="seconds after which the whole run is stopped (exit 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    args = parser.parse_args()

    cluster = Cluster(args)
    atexit.register(cluster.cleanup)

    def on_signal(signum, _frame):
        log(f"signal {signal.Signals(signum).name}: stopping")
        sys.exit(128 + signum)  # runs atexit: children stopped, database dropped

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    # A hard ceiling on the whole run: SIGALRM ends it through the same exit path.
    signal.signal(signal.SIGALRM, lambda *_: (log("overall deadline reached"), sys.exit(3)))
    signal.alarm(int(args.deadline))
    try:
        return run(cluster)
    except (SetupError, TimeoutError) as err:
        log(f"setup failed: {err}")
        for p in cluster.history:
            print(f"--- {p.key} log tail\n{p.log.tail(15)}")
        return 2
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
