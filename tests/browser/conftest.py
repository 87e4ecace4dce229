"""Fixtures for the browser tests: a Chromium driven by Playwright (the system browser,
never a downloaded one), a host page on another origin with a strict CSP, the API, and
axe-core from its npm package.

Environment:
  AURA_BASE_URL   the server under test, e.g. http://127.0.0.1:18090 (required)
  AURA_API_KEY    a key of the demo organization (required)
  CHROMIUM        the browser binary (default /usr/bin/chromium)
  AXE_CORE_JS     path of axe.min.js (default: `npm pack axe-core@AXE_CORE_VERSION` into a temp dir)
  AURA_SCREENSHOT_DIR  where screenshots go (default: <repo>/target/browser-screenshots)
"""

import html
import json
import os
import subprocess
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
SLUG = "demo-strategy-call"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Records the widget's events and messages on every page and frame, before any page
# script runs (init scripts are not subject to the page's CSP).
EVENT_RECORDER = """
(() => {
  window.__auraEvents = [];
  window.__auraMessages = [];
  window.__cspViolations = [];
  for (const type of ['aura:ready', 'aura:slot-selected', 'aura:booked', 'aura:error',
                      'aura:rescheduled', 'aura:canceled', 'aura:timezone-changed']) {
    document.addEventListener(type, (event) => {
      window.__auraEvents.push({ type, detail: JSON.parse(JSON.stringify(event.detail ?? null)) });
    });
  }
  window.addEventListener('message', (event) => {
    if (event.data && typeof event.data.type === 'string' && event.data.type.startsWith('aura:')) {
      window.__auraMessages.push(JSON.parse(JSON.stringify(event.data)));
    }
  });
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
  });
})();
"""


# ---------------------------------------------------------------- configuration
@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("AURA_BASE_URL", "").rstrip("/")
    if not url:
        pytest.fail("set AURA_BASE_URL to the server under test (see .ci/browser.sh)")
    return url


@pytest.fixture(scope="session")
def api_key():
    key = os.environ.get("AURA_API_KEY", "")
    if not key:
        pytest.fail("set AURA_API_KEY to a key of the demo organization (see .ci/browser.sh)")
    return key


@pytest.fixture(scope="session")
def screenshot_dir():
    path = Path(os.environ.get("AURA_SCREENSHOT_DIR", REPO / "target" / "browser-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------- the API, as an outsider
class Api:
    def __init__(self, base, key):
        self.base = base
        self.key = key

    def request(self, method, path, body=None, key=True, headers=None):
        hdrs = dict(headers or {})
        if key:
            hdrs["Authorization"] = f"Bearer {self.key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def get_json(self, path, key=True):
        status, _, raw = self.request("GET", path, key=key)
        assert status == 200, f"GET {path}: {status} {raw[:300]!r}"
        return json.loads(raw)

    def graphql(self, query, variables=None, key=False):
        status, _, raw = self.request("POST", "/graphql", {"query": query, "variables": variables or {}}, key=key)
        return json.loads(raw)

    def calls_since(self, since_iso):
        """Calls created after `since_iso`, every page (the demo data has rows dated ahead)."""
        calls, cursor = [], None
        for _ in range(20):
            query = {"limit": "100", "created_after": since_iso}
            if cursor:
                query["cursor"] = cursor
            page = self.get_json("/v1/calls?" + urllib.parse.urlencode(query))
            calls += page["data"]
            if not page["pagination"]["has_more"]:
                break
            cursor = page["pagination"]["next_cursor"]
        return calls

    def find_call(self, start, since_iso):
        # The brief's check first: the newest calls.
        for call in self.get_json("/v1/calls?limit=5")["data"]:
            if call["scheduled_at"] == start:
                return call
        for call in self.calls_since(since_iso):
            if call["scheduled_at"] == start:
                return call
        return None

    def has_argument(self, type_name, field, argument):
        """Whether a field takes an argument (for features the server may not have yet,
        e.g. bookCall(utm:))."""
        answer = self.graphql('query($n: String!) { __type(name: $n) { fields { name args { name } } } }',
                              {"n": type_name}, key=True)
        fields = ((answer.get("data") or {}).get("__type") or {}).get("fields") or []
        return any(f["name"] == field and any(a["name"] == argument for a in f["args"]) for f in fields)


@pytest.fixture(scope="session")
def api(base_url, api_key):
    return Api(base_url, api_key)


# ---------------------------------------------------------------- a host site on another origin
class HostSite:
    """Serves pages that embed the widget, from an origin that is not the API's, under
    `default-src 'none'; script-src API; style-src API; connect-src API`."""

    def __init__(self, api_base):
        self.api = api_base
        self.csp = f"default-src 'none'; script-src {api_base}; style-src {api_base}; connect-src {api_base}"
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/embed":
                    body, csp = site.embed_page(query), site.csp
                elif url.path == "/framed":
                    body = site.framed_page(url.query)
                    csp = "default-src 'none'; frame-src 'self'"
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Security-Policy", csp)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def embed_page(self, query):
        attrs = json.loads(query.get("attrs", "{}"))
        tag = query.get("tag", "aura-booking")
        attr_text = "".join(f' {html.escape(k)}="{html.escape(str(v))}"' for k, v in attrs.items())
        if tag == "div":
            element = f'<div data-aura-booking="{html.escape(query.get("slug", SLUG))}"{attr_text}></div>'
        else:
            element = f'<aura-booking slug="{html.escape(query.get("slug", SLUG))}"{attr_text}></aura-booking>'
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partner site</title>
<script src="{self.api}/widget.js" defer></script>
</head>
<body>
<main>
<h1>Partner site</h1>
<p>Talk to our team: pick a time below.</p>
{element}
<p>Footer text after the widget.</p>
</main>
</body>
</html>"""

    def framed_page(self, inner_query):
        src = html.escape("/embed?" + inner_query)
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Framing page</title></head>
<body><main><h1>Framing page</h1><iframe title="Booking" src="{src}" width="700" height="300"></iframe></main></body></html>"""

    def url(self, attrs=None, tag="aura-booking", slug=SLUG, extra=None):
        query = {"attrs": json.dumps(attrs or {}), "tag": tag, "slug": slug}
        query.update(extra or {})
        return f"{self.origin}/embed?{urllib.parse.urlencode(query)}"

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def host(base_url):
    site = HostSite(base_url)
    assert urllib.parse.urlsplit(site.origin).port != urllib.parse.urlsplit(base_url).port
    yield site
    site.close()


# ---------------------------------------------------------------- the browser
@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


class Session:
    """One browser context and page, with everything the tests check on the side:
    console errors, uncaught exceptions, failed requests and every request URL."""

    def __init__(self, browser, **context_options):
        options = {"locale": "en-US", "timezone_id": "Europe/Paris", "viewport": {"width": 1100, "height": 900}}
        options.update(context_options)
        self.context = browser.new_context(**options)
        self.context.add_init_script(EVENT_RECORDER)
        self.console_errors = []
        self.requests = []
        self.page = self.context.new_page()
        self.watch(self.page)

    def watch(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda err: self.console_errors.append(f"{page.url}: uncaught {err}"))
        page.on("request", lambda req: self.requests.append(req))

    def events(self, type_=None):
        events = self.page.evaluate("window.__auraEvents || []")
        return [e for e in events if type_ is None or e["type"] == type_]

    def csp_violations(self):
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self):
        assert not self.console_errors, "console errors:\n" + "\n".join(self.console_errors)
        violations = self.csp_violations()
        assert not violations, f"CSP violations: {violations}"

    def close(self):
        self.context.close()


@pytest.fixture
def session(browser):
    sessions = []

    def make(**options):
        s = Session(browser, **options)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()


# ---------------------------------------------------------------- axe-core
@pytest.fixture(scope="session")
def axe_source():
    path = os.environ.get("AXE_CORE_JS")
    if path:
        return Path(path).read_text(encoding="utf-8")
    version = os.environ.get("AXE_CORE_VERSION", "4.14.1")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"axe-core@{version}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.PIPE)
        tgz = next(Path(tmp).glob("axe-core-*.tgz"))
        with tarfile.open(tgz) as tar:
            member = tar.extractfile("package/axe.min.js")
            return member.read().decode("utf-8")
