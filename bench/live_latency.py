#!/usr/bin/env python3
"""Mutation → subscription event, across two instances (goal: p50 under 20 ms).

Starts two `aura serve` processes on one fresh PostgreSQL database (dropped after), opens
an `events` subscription (graphql-transport-ws) on instance B, books calls through GraphQL
on instance A one at a time (`--rate` per second), and records for each the time from
the moment A answered (the transaction committed) to the event's arrival on B's socket.
The writes are public `bookCall`s on distinct slots of the bench's open link (API keys
are read-only; the binary needs `--features bench`); B's subscription is `call.booked`. `--backend sqlite` runs both on one SQLite file instead (one process writes,
the other hears through the 1 s poll only: SQLite has no NOTIFY).

  pip install websockets   # the one module it needs beyond the standard library
  bench/live_latency.py --binary target/release/aura --events 300
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402


def book(base, first_start, n):
    """Books slot `n` of the open link; returns its start as unix seconds."""
    start = first_start + n * 300
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    status, payload = run.http("POST", f"{base}/graphql", None, {
        "query": run.BOOK, "variables": {"start": stamp, "email": f"live-{n}@bench.example"}})
    if status != 200 or not isinstance(payload, dict) or payload.get("errors"):
        run.fail(f"bookCall: {status} {payload}")
    return start


def unix(text):
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


async def measure(base_a, base_b, key, events, rate):
    first_start = run.http("POST", f"{base_a}/bench/open-link")[1]["first_start_unix"]
    arrivals, committed, sent = {}, {}, {}
    uri = base_b.replace("http://", "ws://") + "/graphql/ws"
    async with websockets.connect(uri, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {key}"}}))
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription { events(types: [CALL_BOOKED]) { type data } }"}}))
        await asyncio.sleep(1.0)

        async def reader():
            while len(arrivals) < events:
                message = json.loads(await ws.recv())
                if message.get("type") == "next":
                    call = message["payload"]["data"]["events"]["data"]
                    arrivals[unix(call["scheduled_at"])] = time.monotonic()

        task = asyncio.create_task(reader())
        loop = asyncio.get_running_loop()
        for n in range(events):
            before = time.monotonic()
            start = await loop.run_in_executor(None, book, base_a, first_start, n)
            committed[start] = time.monotonic()
            sent[start] = before
            await asyncio.sleep(1 / rate)
        await asyncio.wait_for(task, timeout=30)
    after_answer = sorted((arrivals[s] - at) * 1000 for s, at in committed.items())
    after_send = sorted((arrivals[s] - at) * 1000 for s, at in sent.items())
    return after_answer, after_send


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(run.ROOT, "target", "release", "aura"))
    parser.add_argument("--backend", default="postgres")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.smoke, args.reseed = True, True
    temp = tempfile.mkdtemp(prefix="aura-live-")
    args.data_dir = temp
    dataset = run.Dataset(args, args.backend, 500)
    servers = []
    try:
        dataset.prepare()
        key = dataset.keys(1)[0]
        bases = []
        for name in ("a", "b"):
            port = run.free_port()
            env = run.server_env(dataset.url, port)
            server = run.Server([args.binary, "serve"], env, f"live-{name}", temp)
            servers.append(server)
            base = f"http://127.0.0.1:{port}"
            server.wait_ready(f"{base}/health")
            bases.append(base)
        answered, sent = asyncio.run(measure(bases[0], bases[1], key, args.events, args.rate))
        for label, waits in (("A's answer", answered), ("sending the mutation to A", sent)):
            pct = lambda p: waits[min(len(waits) - 1, int(len(waits) * p))]  # noqa: E731
            print(f"{args.backend}: from {label} to the event on B's socket, {len(waits)} "
                  f"events: min {waits[0]:.1f} ms, p50 {statistics.median(waits):.1f} ms, "
                  f"p90 {pct(0.9):.1f} ms, p99 {pct(0.99):.1f} ms, max {waits[-1]:.1f} ms")
    finally:
        for server in servers:
            server.stop()
        dataset.drop()


if __name__ == "__main__":
    main()
