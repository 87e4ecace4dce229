"""A webhook receiver written against the reference `standardwebhooks` library.

It drives a real `aura serve`: creates a webhook with an API key, sends a test event,
makes real changes as a Clerk user (so deliveries come from the outbox through the
dispatcher), rotates the secret, and checks every delivery with the library, holding
the old secret and the new one during the rotation.

Usage: python standard_receiver.py AURA_URL API_KEY PRIVATE_KEY_PEM_FILE
"""

import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

AURA, API_KEY, PRIVATE_KEY_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
ISSUER = "https://clerk.ci.test"

received = []  # (headers, body)
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def call(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(AURA + path, data=data, method=method)
    request.add_header("authorization", f"Bearer {token}")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def clerk_token():
    now = int(time.time())
    claims = {
        "sub": "user_ci", "iss": ISSUER, "iat": now, "nbf": now - 5, "exp": now + 120,
        "v": 2, "o": {"id": "org_ci", "rol": "admin", "slg": "acme", "per": ""},
    }
    with open(PRIVATE_KEY_FILE) as f:
        return jwt.encode(claims, f.read(), algorithm="RS256")


def create_lead(name):
    query = "mutation($i: CreateLeadInput!) { createLead(input: $i) { id } }"
    result = call("POST", "/graphql", clerk_token(), {"query": query, "variables": {"i": {"name": name}}})
    assert "errors" not in result, result
    return result["data"]["createLead"]["id"]


def wait_for(count):
    for _ in range(500):
        with lock:
            if len(received) >= count:
                return list(received)
        time.sleep(0.02)
    raise SystemExit(f"expected {count} deliveries, got {len(received)}")


def verify(secret, headers, body):
    """The library's own verification: signature and timestamp tolerance."""
    return Webhook(secret).verify(body, {
        "webhook-id": headers["webhook-id"],
        "webhook-timestamp": headers["webhook-timestamp"],
        "webhook-signature": headers["webhook-signature"],
    })


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/aura"

    created = call("POST", "/v1/webhooks", API_KEY, {"url": url, "event_types": ["*"]})
    webhook_id, old_secret = created["data"]["id"], created["data"]["secret"]

    tested = call("POST", f"/v1/webhooks/{webhook_id}/test", API_KEY)
    assert tested["data"]["succeeded"], tested
    lead_a = create_lead("Standard Webhooks A")
    deliveries = wait_for(2)
    for headers, body in deliveries:
        payload = verify(old_secret, headers, body)
        assert payload["type"] in ("webhook.test", "lead.created"), payload
    lead_event = next(json.loads(b) for _, b in deliveries if json.loads(b)["type"] == "lead.created")
    assert lead_event["data"]["id"] == lead_a, lead_event

    rotated = call("POST", f"/v1/webhooks/{webhook_id}/rotate-secret", API_KEY)
    new_secret = rotated["data"]["secret"]
    assert new_secret != old_secret
    lead_b = create_lead("Standard Webhooks B")
    call("POST", f"/v1/webhooks/{webhook_id}/test", API_KEY)
    deliveries = wait_for(4)
    for headers, body in deliveries[2:]:
        # During the rotation a receiver holding either secret accepts the delivery.
        for secret in (old_secret, new_secret):
            verify(secret, headers, body)
    try:
        verify("whsec_" + "A" * 43 + "=", *deliveries[3])
        raise SystemExit("a stranger's secret verified a delivery")
    except WebhookVerificationError:
        pass
    types = sorted(json.loads(b)["type"] for _, b in deliveries)
    assert types == ["lead.created", "lead.created", "webhook.test", "webhook.test"], types
    assert any(json.loads(b)["data"].get("id") == lead_b for _, b in deliveries[2:])
    ids = [h["webhook-id"] for h, _ in deliveries]
    assert all(i.startswith("evt_") for i in ids) and len(set(ids)) == 4, ids
    print(f"standardwebhooks verified {len(deliveries)} deliveries, across a secret rotation")


if __name__ == "__main__":
    main()
