#!/usr/bin/env python3
"""Cost per request, in measures that do not drift with this machine's speed.

For one seeded dataset (as `bench/run.py` leaves it), it starts `aura serve` under
`valgrind --tool=callgrind` and, per scenario, zeroes the counters after a warm-up, sends
`--requests` sequential requests and reads the user-space instructions of every thread
(server, tokio workers, sqlx's SQLite threads) per request. Then, without valgrind, it
counts the server's context switches per request (`/proc/<pid>/task/*/status`) under
`wrk -c32` for 3 s. It prints one table.

  bench/cost.py --binary target/release/aura --backend sqlite --size 100000
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the runner's datasets, servers and requests)


def scenarios(key, ids):
    now = time.time()
    day = lambda d: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + d * 86400))  # noqa: E731
    slots = {"query": run.SLOTS, "variables": {"slug": run.SLOTS_LINK, "from": day(1), "to": day(8)}}
    nested = {"query": run.NESTED, "variables": {"first": 25}}
    return [
        ("http floor", "GET", "/bench/noop", None, None),
        ("db floor", "GET", "/bench/leads", None, None),
        ("rest list", "GET", "/v1/leads?limit=25", None, key),
        ("rest get", "GET", f"/v1/leads/{ids[0]}", None, key),
        ("db floor nested", "GET", "/bench/nested", None, None),
        ("graphql nested", "POST", "/graphql", nested, key),
        ("availableSlots", "POST", "/graphql", slots, None),
    ]


def total_instructions(out_dir, pid):
    """Sums the `summary:` lines of the dumps callgrind wrote for `pid` since the last
    zeroing (one file per thread with --separate-threads=no: one)."""
    total = 0
    for path in glob.glob(os.path.join(out_dir, f"cg.{pid}*")):
        with open(path) as dump:
            for line in dump:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
        os.remove(path)
    return total


def context_switches(pid):
    total = 0
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(status) as f:
                for line in f:
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(run.ROOT, "target", "release", "aura"))
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--data-dir", default=os.path.join(run.ROOT, "bench", "data"))
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    dataset = run.Dataset(args, args.backend, args.size)
    if not dataset.seeded():
        run.fail("seed the dataset first with bench/run.py")
    key = dataset.keys(1)[0]
    log_dir = tempfile.mkdtemp(prefix="aura-cost-")
    results = {}
    for mode in ("callgrind", "switches"):
        port = run.free_port()
        base = f"http://127.0.0.1:{port}"
        env = run.server_env(dataset.url, port)
        argv = [args.binary, "serve"]
        if mode == "callgrind":
            argv = ["valgrind", "--tool=callgrind", "--dump-instr=no",
                    f"--callgrind-out-file={log_dir}/cg.%p"] + argv
        server = run.Server(argv, env, f"aura-{mode}", log_dir)
        try:
            server.wait_ready(f"{base}/health", timeout=300)
            ids = [lead["id"] for lead in run.warm(f"{base}/v1/leads?limit=25", key, count=3)["data"]]
            for name, method, path, body, k in scenarios(key, ids):
                run.warm(f"{base}{path}", k, body, method, 20)
                if mode == "callgrind":
                    pid = server.process.pid
                    subprocess.run(["callgrind_control", "-z", str(pid)], capture_output=True)
                    for _ in range(args.requests):
                        run.http(method, f"{base}{path}", k, body)
                    subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True)
                    time.sleep(0.5)
                    n = total_instructions(log_dir, pid)
                    results.setdefault(name, {})["instructions"] = n / args.requests
                else:
                    pid = server.process.pid
                    before = context_switches(pid)
                    result = run.run_wrk(args_for_wrk(), base, name, [path],
                                         [k] if k else (), method, body, "", "", None)
                    after = context_switches(pid)
                    results[name]["switches"] = (after - before) / max(result["requests"], 1)
        finally:
            server.stop()
    print("| per request | instructions | context switches |")
    print("| --- | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['instructions'] / 1e6:.2f} M | {r.get('switches', 0):.1f} |")


def args_for_wrk():
    return argparse.Namespace(duration=3, connections=32, threads=1)


if __name__ == "__main__":
    main()
