"""Browser tests of the booking widget, the hosted booking pages and the playground,
in headless Chromium against a running server (AURA_BASE_URL, AURA_API_KEY; see
conftest.py and .ci/browser.sh)."""

import hashlib
import json
import re
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from conftest import REPO, SLUG

WIDGET = "aura-booking"
OPTION = f"{WIDGET} [role=option]"
SERIOUS = ("serious", "critical")


def now_iso(minus_seconds=120):
    return (datetime.now(timezone.utc) - timedelta(seconds=minus_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def unique_email(tag):
    return f"widget-{tag}-{uuid.uuid4().hex[:10]}@example.com"


def norm(text):
    return re.sub(r"[\u202f\u00a0\s]+", " ", text).strip()


def deep_active(page):
    """Describes the focused element, looking into the widget's shadow root."""
    return page.evaluate(
        """() => {
        let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        if (!el) return null;
        return { tag: el.tagName.toLowerCase(), role: el.getAttribute('role'), name: el.getAttribute('name'),
                 cls: el.className || '', text: (el.textContent || '').trim().slice(0, 80),
                 start: el.getAttribute('data-start'), inDialog: !!el.closest('dialog') };
    }"""
    )


def assert_no_junk(page):
    """No stray `null`, `undefined`, `NaN` or `Invalid Date` in what the widget shows."""
    text = page.locator(WIDGET).first.evaluate("el => el.shadowRoot.textContent")
    for junk in ("undefined", "null", "NaN", "Invalid Date", "[object Object]"):
        assert not re.search(rf"\b{re.escape(junk)}\b", text), f"{junk!r} in the widget: {text[:500]}"


def ics_start(text):
    """The DTSTART of an iCalendar text (unfolded): (value, is_utc)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    match = re.search(r"^DTSTART(;[^:\r\n]*)?:([0-9TZ]+)\r?$", unfolded, re.M)
    assert match, f"no DTSTART in {text!r}"
    return match.group(2), match.group(2).endswith("Z")


def wait_for_slots(page):
    page.locator(OPTION).first.wait_for(state="visible", timeout=15000)


def fill_form(page, name, email, phone=None):
    form = page.locator(f"{WIDGET} form.aura-form")
    form.wait_for(state="visible")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=email]").fill(email)
    if phone is not None:
        form.locator("input[name=phone]").fill(phone)


def graphql_requests(requests):
    return [r for r in requests if urllib.parse.urlsplit(r.url).path == "/graphql"]


def assert_apq_only(requests, base_url):
    """Every GraphQL request of the widget is an APQ request carrying only a hash:
    queries over GET, mutations over POST, never a document."""
    calls = graphql_requests(requests)
    assert calls, "the widget sent no GraphQL request"
    for req in calls:
        assert req.url.startswith(base_url + "/graphql"), req.url
        if req.method == "GET":
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(req.url).query))
            assert "query" not in query, req.url
            ext = json.loads(query["extensions"])
            assert ext["persistedQuery"]["version"] == 1
            assert re.fullmatch(r"[0-9a-f]{64}", ext["persistedQuery"]["sha256Hash"])
            assert query["operationName"] in ("PublicBookingLink", "AvailableSlots", "PublicBooking")
            json.loads(query["variables"])
        elif req.method == "POST":
            assert req.headers.get("content-type", "").startswith("application/json")
            body = json.loads(req.post_data)
            assert "query" not in body, body
            assert re.fullmatch(r"[0-9a-f]{64}", body["extensions"]["persistedQuery"]["sha256Hash"])
            assert body["operationName"] in ("BookCall", "RescheduleBooking", "CancelBooking")
        else:
            assert req.method == "OPTIONS", req.method


def run_axe(page, axe_source, label):
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(axe_source + "\n;undefined")
    # preload: false keeps axe from copying stylesheets into a <style> element of its own,
    # which the pages' CSP (rightly) refuses and reports as a console error.
    result = page.evaluate("async () => (await axe.run(document, { preload: false })).violations")
    bad = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in SERIOUS
    ]
    assert not bad, f"axe on {label}: " + json.dumps(bad, indent=1)
    return result


# ---------------------------------------------------------------- the main flow
def test_embed_on_another_origin_books_and_reports(session, host, api, base_url):
    since = now_iso()
    s = session()
    page = s.page
    email = unique_email("embed")
    response = page.goto(host.url(extra={"utm_source": "newsletter", "utm_campaign": "winter", "name": "Ada Lovelace"}))
    assert urllib.parse.urlsplit(page.url).netloc != urllib.parse.urlsplit(base_url).netloc
    # The host page runs under a strict CSP that names only the API origin.
    assert response.headers["content-security-policy"] == (
        f"default-src 'none'; script-src {base_url}; style-src {base_url}; connect-src {base_url}")
    wait_for_slots(page)

    first = page.locator(OPTION).first
    start = first.get_attribute("data-start")
    end = first.get_attribute("data-end")
    first.click()
    selected = s.events("aura:slot-selected")
    assert selected and selected[-1]["detail"] == {"start": start, "end": end}

    # Prefill from the host page's URL.
    assert page.locator(f"{WIDGET} input[name=name]").input_value() == "Ada Lovelace"
    fill_form(page, "Ada Lovelace", email, "+44 20 7946 0000")
    page.locator(f"{WIDGET} button[type=submit]").click()

    heading = page.locator(f"{WIDGET} .aura-done-title")
    expect(heading).to_be_visible(timeout=15000)
    expect(heading).to_be_focused()

    booked = s.events("aura:booked")
    assert len(booked) == 1, s.events()
    detail = booked[0]["detail"]
    assert detail["start"] == start and detail["end"] == end and detail["status"] == "SCHEDULED"
    assert detail["bookingLink"]["slug"] == SLUG and detail["bookingLink"]["timezone"]
    assert "token" not in json.dumps(detail), detail
    assert set(detail) == {"start", "end", "status", "bookingLink"}

    # The confirmation's links: the .ics file and the manage page, on the API origin.
    ics = page.locator(f"{WIDGET} a[href$='/booking.ics']")
    manage = page.locator(f"{WIDGET} a", has_text="Reschedule or cancel")
    ics_href = ics.get_attribute("href")
    manage_href = manage.get_attribute("href")
    assert re.fullmatch(re.escape(base_url) + r"/book/manage/[^/]+/booking\.ics", ics_href), ics_href
    assert ics_href == manage_href + "/booking.ics"
    status, headers, body = api.request("GET", ics_href[len(base_url):], key=False)
    assert status == 200, (status, body[:200])
    assert "text/calendar" in {k.lower(): v for k, v in headers.items()}["content-type"]
    text = body.decode()
    assert "BEGIN:VCALENDAR" in text and "BEGIN:VEVENT" in text
    value, utc = ics_start(text)
    if utc:
        assert value == datetime.fromisoformat(start.replace("Z", "+00:00")).strftime("%Y%m%dT%H%M%SZ")
    assert_no_junk(page)

    # The call, through the API.
    call = api.find_call(start, since)
    assert call is not None, f"no call at {start} in GET /v1/calls"
    assert call["status"] == "scheduled"

    # UTM parameters went to bookCall; where the server stores them, they are on the lead.
    book_posts = [r for r in graphql_requests(s.requests) if r.method == "POST"]
    variables = json.loads(book_posts[-1].post_data)["variables"]
    assert variables["utm"] == {"source": "newsletter", "campaign": "winter"}
    assert variables["start"] == start
    if api.has_argument("Mutation", "bookCall", "utm"):
        lead = api.get_json(f"/v1/leads/{call['lead_id']}")["data"]
        assert lead["email"] == email
        assert (lead.get("utm") or {}).get("source", lead.get("utm_source")) == "newsletter"

    assert_apq_only(s.requests, base_url)
    third_party = [r.url for r in s.requests if not (r.url.startswith(base_url) or r.url.startswith(host.origin))]
    assert not third_party, third_party
    s.assert_clean()


def test_timezone_change_keeps_the_booked_instant(session, host, api):
    since = now_iso()
    s = session(timezone_id="Europe/Paris")
    page = s.page
    page.goto(host.url())
    wait_for_slots(page)
    assert_no_junk(page)
    select = page.locator(f"{WIDGET} select")
    assert select.input_value() == "Europe/Paris", "the visitor's zone is detected"

    select.select_option("Asia/Tokyo")
    expect(page.locator(f"{WIDGET} .aura-days")).to_have_attribute("aria-busy", "false")
    assert select.input_value() == "Asia/Tokyo"
    tokyo = ZoneInfo("Asia/Tokyo")

    # Every displayed time and day heading is now Tokyo's reading of the same instants.
    options = page.locator(OPTION)
    assert options.count() > 0
    for i in range(min(options.count(), 6)):
        opt = options.nth(i)
        instant = datetime.fromisoformat(opt.get_attribute("data-start").replace("Z", "+00:00")).astimezone(tokyo)
        expected = instant.strftime("%-I:%M %p")
        assert norm(opt.inner_text()) == expected
    first = options.first
    start = first.get_attribute("data-start")
    local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(tokyo)
    day_title = first.locator("xpath=ancestor::section[1]//*[contains(@class,'aura-day-title')]")
    assert norm(day_title.inner_text()) == local.strftime("%A, %B %-d")

    first.click()
    assert "Asia/Tokyo" in page.locator(f"{WIDGET} .aura-picked").inner_text()
    fill_form(page, "Zone Traveller", unique_email("tz"))
    page.locator(f"{WIDGET} button[type=submit]").click()
    expect(page.locator(f"{WIDGET} .aura-done-title")).to_be_visible(timeout=15000)
    assert s.events("aura:booked")[0]["detail"]["start"] == start

    call = api.find_call(start, since)
    assert call is not None, f"no call at {start}"
    assert call["scheduled_at"] == start
    # The confirmation shows the time in the chosen zone.
    when = norm(page.locator(f"{WIDGET} .aura-when").inner_text())
    assert local.strftime("%-I:%M %p") in when, when
    s.assert_clean()


def test_slot_taken_meanwhile_shows_a_message_and_fresh_slots(session, host, api):
    s = session()
    page = s.page
    page.goto(host.url())
    wait_for_slots(page)
    first = page.locator(OPTION).first
    start = first.get_attribute("data-start")
    first.click()
    fill_form(page, "Second Comer", unique_email("late"))

    # Someone else books the same start first.
    answer = api.graphql(
        "mutation($s: DateTime!) { bookCall(slug: \"%s\", start: $s, name: \"First Comer\", email: \"%s\") { start } }"
        % (SLUG, unique_email("first")),
        {"s": start},
    )
    assert answer.get("data", {}).get("bookCall", {}).get("start") == start, answer

    page.locator(f"{WIDGET} button[type=submit]").click()
    alert = page.locator(f"{WIDGET} .aura-alert")
    expect(alert).to_be_visible(timeout=15000)
    expect(alert).to_contain_text("just taken")
    expect(alert).to_be_focused()
    wait_for_slots(page)
    starts = [o.get_attribute("data-start") for o in page.locator(OPTION).all()]
    assert starts, "fresh slots are shown"
    assert start not in starts, "the taken slot is gone from the fresh list"
    errors = s.events("aura:error")
    assert errors and errors[-1]["detail"]["code"] == "CONFLICT" and errors[-1]["detail"]["message"]
    assert not s.events("aura:booked")
    s.assert_clean()


def test_booking_with_the_keyboard_only(session, host, api):
    since = now_iso()
    s = session()
    page = s.page
    page.goto(host.url())
    wait_for_slots(page)
    page.locator("h1").click()  # a neutral starting point, outside the widget

    for _ in range(12):
        page.keyboard.press("Tab")
        active = deep_active(page)
        if active and active["role"] == "option":
            break
    assert active["role"] == "option", f"Tab never reached a slot: {active}"
    page.keyboard.press("ArrowRight")
    active = deep_active(page)
    assert active["role"] == "option"
    start = active["start"]
    page.keyboard.press("Enter")

    active = deep_active(page)
    assert active["tag"] == "input" and active["name"] == "name", f"focus did not move to the form: {active}"
    page.keyboard.type("Keyboard User")
    page.keyboard.press("Tab")
    assert deep_active(page)["name"] == "email"
    page.keyboard.type(unique_email("keys"))
    page.keyboard.press("Tab")
    assert deep_active(page)["name"] == "phone"
    page.keyboard.press("Tab")
    # The demo links ask one optional question (a text area) before the submit button.
    active = deep_active(page)
    assert active["tag"] == "textarea", f"the link's question comes next: {active}"
    page.keyboard.type("Grow the team")
    page.keyboard.press("Tab")
    assert "aura-submit" in deep_active(page)["cls"]
    page.keyboard.press("Enter")

    expect(page.locator(f"{WIDGET} .aura-done-title")).to_be_visible(timeout=15000)
    assert "aura-done-title" in deep_active(page)["cls"], "focus moves to the confirmation heading"
    assert s.events("aura:booked")[0]["detail"]["start"] == start
    assert api.find_call(start, since) is not None
    s.assert_clean()


def test_popup_mode_is_an_accessible_modal(session, host, axe_source):
    s = session()
    page = s.page
    page.goto(host.url({"mode": "popup", "button-text": "Talk to sales", "theme": "dark"}, tag="div"))
    launcher = page.locator(f"[data-aura-booking] button.aura-launch")
    expect(launcher).to_have_text("Talk to sales")
    assert page.locator("[data-aura-booking] dialog").is_visible() is False

    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("[data-aura-booking] dialog")
    expect(dialog).to_be_visible()
    assert dialog.get_attribute("aria-labelledby")
    wait_for_slots_in = page.locator("[data-aura-booking] [role=option]").first
    wait_for_slots_in.wait_for(state="visible", timeout=15000)
    assert deep_active(page)["inDialog"], "focus moves into the dialog"
    assert "aura--dark" in page.locator("[data-aura-booking] .aura").get_attribute("class")

    for _ in range(25):
        page.keyboard.press("Tab")
        assert deep_active(page)["inDialog"], "Tab leaves the dialog"
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert deep_active(page)["inDialog"], "Shift+Tab leaves the dialog"
    run_axe(page, axe_source, "the popup")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    active = deep_active(page)
    assert "aura-launch" in active["cls"], f"focus is restored to the launcher: {active}"
    s.assert_clean()


def test_client_checks_mirror_the_server_and_server_errors_show_by_the_field(session, host):
    s = session()
    page = s.page
    page.goto(host.url({"name": "  ", "email": "not-an-address"}))
    wait_for_slots(page)
    page.locator(OPTION).first.click()
    form = page.locator(f"{WIDGET} form")
    posts = lambda: [r for r in graphql_requests(s.requests) if r.method == "POST"]

    cases = [
        ({"name": "", "email": "a@b.co"}, "name"),
        ({"name": "x" * 201, "email": "a@b.co"}, "name"),
        ({"name": "Nul\u0000Byte", "email": "a@b.co"}, "name"),
        ({"name": "Ok", "email": "ava@example"}, "email"),
        ({"name": "Ok", "email": "@example.com"}, "email"),
        ({"name": "Ok", "email": "a b@example.com"}, "email"),
        ({"name": "Ok", "email": "a@.com"}, "email"),
        ({"name": "Ok", "email": "a@example.com."}, "email"),
        ({"name": "Ok", "email": "a@" + "b" * 316 + ".com"}, "email"),
        ({"name": "Ok", "email": "a@b.co", "phone": "call me"}, "phone"),
        ({"name": "Ok", "email": "a@b.co", "phone": "+-()"}, "phone"),
        ({"name": "Ok", "email": "a@b.co", "phone": "1" * 41}, "phone"),
    ]
    for values, field in cases:
        for key in ("name", "email", "phone"):
            form.locator(f"input[name={key}]").fill(values.get(key, ""))
        form.locator("button[type=submit]").click()
        control = form.locator(f"input[name={field}]")
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_be_focused()
        described = control.get_attribute("aria-describedby")
        assert described and page.locator(f"{WIDGET} [id='{described}']").inner_text().strip()
        assert not posts(), f"{values} reached the server"

    # What the client lets through, the server judges: its VALIDATION_ERROR lands by the field.
    def reject(route):
        route.fulfill(status=200, content_type="application/json", headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps({"errors": [{"message": "email: this domain does not take mail",
                                                   "extensions": {"code": "VALIDATION_ERROR", "field": "email"}}]}))

    page.route(lambda url: url.endswith("/graphql"), lambda route: reject(route) if route.request.method == "POST" else route.continue_())
    form.locator("input[name=name]").fill(" Valid Name ")
    form.locator("input[name=email]").fill("ok@example.com")
    form.locator("input[name=phone]").fill("+1 (555) 010-0000")
    form.locator("button[type=submit]").click()
    email = form.locator("input[name=email]")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"{WIDGET} [id='{email.get_attribute('aria-describedby')}']")).to_have_text(
        "email: this domain does not take mail")
    assert len(posts()) == 1
    errors = s.events("aura:error")
    assert errors[-1]["detail"] == {"code": "VALIDATION_ERROR", "message": "email: this domain does not take mail"}
    s.assert_clean()


def test_link_questions_and_attribute_prefill_reach_book_call(session, host, base_url):
    """The link's questions render as fields (required ones checked), their answers and the
    UTM parameters go into bookCall. The link answer is augmented in the browser with two
    questions and the booking answered there too, so this holds whatever the demo link asks."""
    s = session()
    page = s.page
    questions = [
        {"key": "goal", "label": "What do you want to achieve?", "required": True, "multiline": True},
        {"key": "company", "label": "Company", "required": False, "multiline": False},
    ]

    def link(route):
        response = route.fetch()
        body = response.json()
        body["data"]["publicBookingLink"]["questions"] = questions
        route.fulfill(response=response, body=json.dumps(body))

    sent = {}

    def book(route):
        payload = json.loads(route.request.post_data)
        sent.update(payload)
        v = payload["variables"]
        route.fulfill(status=200, content_type="application/json", headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps({"data": {"bookCall": {
                          "start": v["start"], "end": v["start"], "status": "SCHEDULED", "token": "bk_test",
                          "bookingLink": {"slug": SLUG, "name": "Strategy Call", "timezone": "America/New_York",
                                          "durationMinutes": 45}}}}))

    page.route(re.compile(r".*/graphql\?operationName=PublicBookingLink.*"), link)
    page.route(lambda url: url.endswith("/graphql"), lambda route: book(route) if route.request.method == "POST" else route.continue_())
    page.goto(host.url({"email": "prefill@example.com", "phone": "+1 555 0100", "name": "Attr Name"},
                       extra={"utm_medium": "email", "utm_term": "demo", "utm_content": "hero", "name": "Url Name"}))
    wait_for_slots(page)
    page.locator(OPTION).first.click()
    form = page.locator(f"{WIDGET} form")
    assert form.locator("input[name=name]").input_value() == "Attr Name"  # an attribute beats the URL
    assert form.locator("input[name=email]").input_value() == "prefill@example.com"
    assert form.locator("input[name=phone]").input_value() == "+1 555 0100"
    goal = form.get_by_label("What do you want to achieve?")
    assert goal.evaluate("el => el.tagName") == "TEXTAREA"
    form.locator("button[type=submit]").click()
    expect(goal).to_have_attribute("aria-invalid", "true")
    expect(goal).to_be_focused()
    assert not sent
    goal.fill("x" * 2001)
    form.locator("button[type=submit]").click()
    expect(goal).to_have_attribute("aria-invalid", "true")
    goal.fill("Hire two closers")
    form.get_by_label("Company").fill("  ")
    form.locator("button[type=submit]").click()
    expect(page.locator(f"{WIDGET} .aura-done-title")).to_be_visible(timeout=15000)
    v = sent["variables"]
    assert v["answers"] == {"goal": "Hire two closers"}
    assert v["utm"] == {"medium": "email", "term": "demo", "content": "hero"}
    assert v["name"] == "Attr Name" and v["email"] == "prefill@example.com" and v["phone"] == "+1 555 0100"
    assert "query" not in sent and sent["extensions"]["persistedQuery"]["sha256Hash"]
    assert page.locator(f"{WIDGET} a[href='{base_url}/book/manage/bk_test/booking.ics']").count() == 1
    s.assert_clean()


def test_week_navigation_stays_within_the_horizon(session, host, api):
    link = api.graphql('{ publicBookingLink(slug: "%s") { horizonDays } }' % SLUG)["data"]["publicBookingLink"]
    s = session()
    page = s.page
    page.goto(host.url())
    wait_for_slots(page)
    prev = page.locator(f"{WIDGET} .aura-prev")
    nxt = page.locator(f"{WIDGET} .aura-next")
    # The first load skips empty weeks; back to the current week, where "previous" ends.
    for _ in range(10):
        if not prev.is_enabled():
            break
        prev.click()
        expect(page.locator(f"{WIDGET} .aura-days")).to_have_attribute("aria-busy", "false")
    expect(prev).to_be_disabled()
    range_text = norm(page.locator(f"{WIDGET} .aura-range").inner_text())
    today = datetime.now(ZoneInfo("Europe/Paris"))
    assert today.strftime("%b %-d") in range_text, (range_text, today)
    seen = set()
    pages = 1
    while nxt.is_enabled():
        nxt.click()
        expect(page.locator(f"{WIDGET} .aura-days")).to_have_attribute("aria-busy", "false")
        pages += 1
        for o in page.locator(OPTION).all():
            seen.add(o.get_attribute("data-start"))
        assert pages <= link["horizonDays"] // 7 + 2
    horizon = datetime.now(timezone.utc) + timedelta(days=link["horizonDays"])
    assert seen and max(datetime.fromisoformat(x.replace("Z", "+00:00")) for x in seen) <= horizon
    slot_requests = [r for r in graphql_requests(s.requests) if "operationName=AvailableSlots" in r.url]
    for r in slot_requests:
        v = json.loads(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.url).query))["variables"])
        span = datetime.fromisoformat(v["to"].replace("Z", "+00:00")) - datetime.fromisoformat(v["from"].replace("Z", "+00:00"))
        assert timedelta(0) < span <= timedelta(days=7), v
    prev.click()
    expect(page.locator(f"{WIDGET} .aura-days")).to_have_attribute("aria-busy", "false")
    assert page.locator(f"{WIDGET} .aura-next").is_enabled()
    s.assert_clean()


def test_framed_widget_posts_its_height_and_events(session, host):
    s = session()
    page = s.page
    inner = urllib.parse.urlsplit(host.url()).query
    page.goto(f"{host.origin}/framed?{inner}")
    frame = page.frame_locator("iframe")
    frame.locator(OPTION).first.wait_for(state="visible", timeout=15000)
    page.wait_for_function("window.__auraMessages.some(m => m.type === 'aura:resize')")
    messages = page.evaluate("window.__auraMessages")
    heights = [m["height"] for m in messages if m["type"] == "aura:resize"]
    content = frame.locator("body").evaluate("b => Math.ceil(document.querySelector('aura-booking').getBoundingClientRect().bottom)")
    assert heights[-1] >= content and heights[-1] < content + 80, (heights, content)
    assert any(m["type"] == "aura:ready" for m in messages)
    frame.locator(OPTION).first.click()
    page.wait_for_function("window.__auraMessages.some(m => m.type === 'aura:slot-selected')")
    s.assert_clean()


# ---------------------------------------------------------------- the hosted pages
def test_hosted_page_books_then_manage_page_reschedules_and_cancels(session, base_url, api):
    since = now_iso()
    s = session(timezone_id="America/New_York")
    page = s.page
    page.goto(f"{base_url}/book/{SLUG}?utm_source=hosted")
    wait_for_slots(page)
    assert page.locator(f"{WIDGET} h1.aura-title").inner_text() == "Strategy Call"
    page.locator(OPTION).first.click()
    fill_form(page, "Hosted Page", unique_email("hosted"))
    page.locator(f"{WIDGET} button[type=submit]").click()
    expect(page.locator(f"{WIDGET} .aura-done-title")).to_be_visible(timeout=15000)
    booked = s.events("aura:booked")[0]["detail"]
    assert api.find_call(booked["start"], since) is not None

    manage = page.locator(f"{WIDGET} a", has_text="Reschedule or cancel")
    assert manage.get_attribute("target") is None, "the hosted page opens the manage page in place"
    manage.click()
    page.wait_for_url(re.compile(r".*/book/manage/[^/]+$"))
    expect(page.locator(f"{WIDGET} .aura-status")).to_have_text("Scheduled", timeout=15000)
    assert_no_junk(page)

    page.locator(f"{WIDGET} button.aura-reschedule").click()
    wait_for_slots(page)
    options = [o.get_attribute("data-start") for o in page.locator(OPTION).all()]
    target = next(x for x in options if x != booked["start"])
    page.locator(f"{WIDGET} [role=option][data-start='{target}']").click()
    confirm = page.locator(f"{WIDGET} button.aura-confirm")
    expect(confirm).to_be_focused()
    confirm.click()
    expect(page.locator(f"{WIDGET} .aura-success")).to_contain_text("moved", timeout=15000)
    assert_no_junk(page)
    moved = s.events("aura:rescheduled")[-1]["detail"]
    assert moved["start"] == target
    call = api.find_call(target, since)
    assert call is not None and call["status"] == "scheduled"

    page.locator(f"{WIDGET} button.aura-cancel").click()
    reason = page.locator(f"{WIDGET} textarea[name=reason]")
    expect(reason).to_be_focused()
    reason.fill("Something came up")
    page.locator(f"{WIDGET} button.aura-confirm").click()
    expect(page.locator(f"{WIDGET} .aura-status")).to_have_text("Canceled", timeout=15000)
    assert s.events("aura:canceled")[-1]["detail"]["status"] == "CANCELED"
    canceled = api.find_call(target, since)
    assert canceled["status"] == "canceled"

    # A reload reads the booking back through the server.
    page.reload()
    expect(page.locator(f"{WIDGET} .aura-status")).to_have_text("Canceled", timeout=15000)
    assert page.locator(f"{WIDGET} button.aura-reschedule").count() == 0
    s.assert_clean()


def test_pages_send_a_strict_csp_and_run_under_it(session, base_url):
    s = session()
    for path in ("/", f"/book/{SLUG}", "/book/manage/bk_unknown"):
        response = s.page.goto(base_url + path)
        assert response.status == 200, path
        csp = response.headers.get("content-security-policy", "")
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'"):
            assert directive in csp, (path, csp)
        # The hosted booking page may be framed by the sites that link it; the index and
        # the manage page (its URL holds the booking's token) never are.
        framing = "frame-ancestors *" if path.startswith("/book/") and "/manage/" not in path else "frame-ancestors 'none'"
        assert framing in csp, (path, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        if path == "/":
            for href in ("/graphql", "/docs", "/openapi.json", "/health"):
                assert s.page.locator(f"a[href='{href}']").count() == 1, href
    # An unknown token is said plainly (and is not a console error).
    expect(s.page.locator(f"{WIDGET} [role=alert]")).to_contain_text("could not be found", timeout=15000)
    s.assert_clean()


def test_theme_is_set_before_first_paint_and_follows_the_system(session, host):
    s = session(color_scheme="dark")
    page = s.page
    page.goto(host.url({"theme": "auto", "brand-color": "#0f766e"}))
    wait_for_slots(page)
    root = page.locator(f"{WIDGET} .aura")
    assert "aura--dark" in root.get_attribute("class")
    assert page.locator(WIDGET).evaluate("el => el.style.getPropertyValue('--aura-brand')") == "#0f766e"
    bg = page.locator(f"{WIDGET} .aura-panel").evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg == "rgb(22, 24, 29)", bg
    page.emulate_media(color_scheme="light")
    expect(root).to_have_class(re.compile(r"\baura--light\b"))
    # The theme class is on the root from the start, and the root stays hidden until the
    # stylesheet has loaded: observed on a fresh load with the stylesheet held back.
    released = []

    def hold(route):
        released.append(route)

    page.route(re.compile(r".*/widget\.css$"), hold)
    page.goto(host.url({"theme": "dark"}), wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelector('aura-booking')?.shadowRoot?.querySelector('.aura')")
    state = page.evaluate("""() => { const r = document.querySelector('aura-booking').shadowRoot.querySelector('.aura');
                               return { hidden: r.hidden, cls: r.className }; }""")
    assert state["hidden"] is True and "aura--dark" in state["cls"], state
    page.wait_for_timeout(200)
    assert released, "the stylesheet was requested"
    released[0].continue_()
    expect(page.locator(f"{WIDGET} .aura")).to_be_visible()
    s.assert_clean()


# ---------------------------------------------------------------- playground, axe, screenshots
def test_playground_loads_offline_from_the_server_alone(session, base_url, api_key):
    s = session()
    page = s.page
    page.goto(base_url + "/graphql", wait_until="networkidle")
    editor = page.locator(".graphiql-container")
    expect(editor).to_be_visible(timeout=20000)
    query_text = page.locator(".graphiql-query-editor").inner_text()
    assert "leads(first: 10, filter: { status: WON })" in norm(query_text)
    assert "pageInfo { hasNextPage endCursor }" in norm(query_text)
    headers_text = page.locator(".graphiql-editor-tool").inner_text()
    assert '"Authorization": "Bearer <your API key>"' in norm(headers_text), headers_text

    # Run the default query with a real key, through the headers editor.
    page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {api_key}"}))
    page.locator("button.graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"edges"', timeout=20000)
    expect(result).to_contain_text('"hasNextPage"')

    origin = base_url
    foreign = [r.url for r in s.requests if not (r.url.startswith(origin + "/") or r.url == origin)]
    assert not foreign, f"requests off the server: {foreign}"
    scripts = [r.url for r in s.requests if r.resource_type == "script"]
    assert any(u.endswith("react.production.min.js") for u in scripts), scripts
    assert not any("development" in u for u in scripts), scripts
    s.assert_clean()


def test_axe_finds_no_serious_violation_and_screenshots(session, host, base_url, axe_source, screenshot_dir):
    s = session()
    page = s.page

    page.goto(host.url())
    wait_for_slots(page)
    run_axe(page, axe_source, "the widget's slots")
    page.locator(WIDGET).screenshot(path=str(screenshot_dir / "widget.png"))
    page.locator(OPTION).first.click()
    page.locator(f"{WIDGET} button[type=submit]").click()  # shows the field errors
    run_axe(page, axe_source, "the widget's form with errors")
    page.locator(WIDGET).screenshot(path=str(screenshot_dir / "widget-form.png"))

    dark = session(color_scheme="dark")
    dark.page.goto(f"{base_url}/book/{SLUG}")
    wait_for_slots(dark.page)
    run_axe(dark.page, axe_source, "the hosted page (dark)")
    dark.page.screenshot(path=str(screenshot_dir / "hosted-page-dark.png"), full_page=True)
    dark.assert_clean()

    page.goto(f"{base_url}/book/{SLUG}")
    wait_for_slots(page)
    run_axe(page, axe_source, "the hosted page")
    page.screenshot(path=str(screenshot_dir / "hosted-page.png"), full_page=True)

    page.goto(base_url + "/")
    run_axe(page, axe_source, "the landing page")

    page.goto(base_url + "/graphql", wait_until="networkidle")
    expect(page.locator(".graphiql-container")).to_be_visible(timeout=20000)
    run_axe(page, axe_source, "the playground")
    page.screenshot(path=str(screenshot_dir / "playground.png"))

    for name in ("widget.png", "widget-form.png", "hosted-page.png", "hosted-page-dark.png", "playground.png"):
        assert (screenshot_dir / name).stat().st_size > 5000, name
    s.assert_clean()


def test_widget_script_stays_small_and_self_contained(base_url, api):
    import gzip

    status, headers, js = api.request("GET", "/widget.js", key=False)
    assert status == 200
    assert "javascript" in {k.lower(): v for k, v in headers.items()}["content-type"]
    _, _, css = api.request("GET", "/widget.css", key=False)
    assert len(gzip.compress(js)) + len(gzip.compress(css)) < 30 * 1024
    text = js.decode()
    assert "/*__AURA_OPERATIONS__*/" not in text, "the server fills in the operation hashes"
    ops = json.loads(re.search(r"const OPERATIONS = (\{[^}]*\});", text).group(1))
    # The hashes are those of web/widget/operations.graphql's blocks.
    source = (REPO / "web" / "widget" / "operations.graphql").read_text(encoding="utf-8")
    blocks = source.rstrip("\n").split("\n\n")
    expected = {re.match(r"(?:query|mutation) (\w+)", b).group(1): hashlib.sha256(b.encode()).hexdigest() for b in blocks}
    assert set(expected) == {"PublicBookingLink", "AvailableSlots", "BookCall", "PublicBooking",
                             "RescheduleBooking", "CancelBooking"}
    assert ops == expected
    assert not re.search(r"https?://(?!www\.w3\.org)", text.split("*/", 1)[1]), "no third-party URL in widget.js"
    # An unknown hash is a PERSISTED_QUERY_NOT_FOUND miss.
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
    status, _, raw = api.request("GET", "/graphql?" + urllib.parse.urlencode({"extensions": ext, "variables": "{}"}), key=False)
    assert json.loads(raw)["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
