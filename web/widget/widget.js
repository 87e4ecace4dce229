/*! Aura booking widget. Hand-written ES2020, no dependencies, no build step.
 * Embed:  <script src="https://API/widget.js" defer></script>
 *         <aura-booking slug="SLUG"></aura-booking>   or   <div data-aura-booking="SLUG"></div>
 * Documentation: web/README.md in the Aura repository. */
(() => {
  'use strict';
  if (window.customElements && window.customElements.get('aura-booking')) return;

  // The server replaces the comment-and-braces below with {"OperationName": "<sha256>", …}
  // for the documents of web/widget/operations.graphql when it serves this file.
  const OPERATIONS = /*__AURA_OPERATIONS__*/{};

  const SCRIPT = document.currentScript;
  const SCRIPT_ORIGIN = SCRIPT && SCRIPT.src ? new URL(SCRIPT.src, location.href).origin : location.origin;
  const DAY = 86400000;
  const WEEK_DAYS = 7;
  const QUERY_PARAMS = new URLSearchParams(location.search);
  const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'];
  const STATUS_LABELS = { SCHEDULED: 'Scheduled', CANCELED: 'Canceled', COMPLETED: 'Completed', NO_SHOW: 'Missed' };
  let uid = 0;

  // ---------------------------------------------------------------- small helpers
  /** Builds an element. Never sets `style`: the widget must run under `style-src` without 'unsafe-inline'. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') el.className = value;
        else if (key === 'text') el.textContent = value;
        else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
        else if (key === 'style') throw new Error('inline styles are not allowed');
        else el.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const codePoints = (s) => Array.from(s).length;
  const utf8Length = (s) => new TextEncoder().encode(s).length;
  const isoUtc = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

  function validZone(zone) {
    if (!zone) return false;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch (_) {
      return false;
    }
  }

  function validLocale(locale) {
    try {
      return Intl.DateTimeFormat.supportedLocalesOf([locale]).length > 0;
    } catch (_) {
      return false;
    }
  }

  const partsCache = new Map();
  /** Wall-clock fields of `ms` in `zone`. */
  function wallClock(zone, ms) {
    let fmt = partsCache.get(zone);
    if (!fmt) {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
        hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
      partsCache.set(zone, fmt);
    }
    const out = {};
    for (const p of fmt.formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
    if (out.hour === 24) out.hour = 0;
    return out;
  }

  /** Offset of `zone` from UTC at instant `ms`, in ms. */
  function zoneOffset(zone, ms) {
    const w = wallClock(zone, ms);
    const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
    return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
  }

  /** The instant of local midnight of calendar day `dayNumber` (days since 1970-01-01) in `zone`. */
  function midnightIn(zone, dayNumber) {
    const wall = dayNumber * DAY;
    let t = wall - zoneOffset(zone, wall);
    t = wall - zoneOffset(zone, t);
    return t;
  }

  /** Calendar day number (days since 1970-01-01) of instant `ms` in `zone`. */
  function dayNumberIn(zone, ms) {
    const w = wallClock(zone, ms);
    return Math.floor(Date.UTC(w.year, w.month - 1, w.day) / DAY);
  }

  function zoneList(extra) {
    let zones = [];
    try {
      if (typeof Intl.supportedValuesOf === 'function') zones = Intl.supportedValuesOf('timeZone');
    } catch (_) { /* older browsers: only the zones we know */ }
    const set = new Set(zones);
    for (const z of extra) if (z) set.add(z);
    if (!set.has('UTC')) set.add('UTC');
    return Array.from(set).sort();
  }

  const zoneLabels = new Map();
  function zoneLabel(zone) {
    if (zoneLabels.has(zone)) return zoneLabels.get(zone);
    let offset = '';
    try {
      const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'shortOffset' })
        .formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
      if (part) offset = ` (${part.value})`;
    } catch (_) { /* shortOffset unsupported */ }
    const label = zone.replace(/_/g, ' ') + offset;
    zoneLabels.set(zone, label);
    return label;
  }

  // ---------------------------------------------------------------- validation (mirrors the server)
  function checkName(value) {
    const name = value.trim();
    if (!name) return 'Please enter your name.';
    if (name.includes('\0')) return 'The name contains a character that is not allowed.';
    if (codePoints(name) > 200) return 'The name must be at most 200 characters.';
    return '';
  }

  function checkEmail(value) {
    const email = value.trim().toLowerCase();
    if (!email) return 'Please enter your e-mail address.';
    const at = email.indexOf('@');
    const local = at < 0 ? '' : email.slice(0, at);
    const domain = at < 0 ? '' : email.slice(at + 1);
    const ok = utf8Length(email) <= 320 && at > 0 && local.length > 0 && domain.includes('.')
      && !domain.startsWith('.') && !domain.endsWith('.') && !/\s/u.test(email);
    return ok ? '' : 'Please enter a valid e-mail address, like name@example.com.';
  }

  function checkPhone(value) {
    const phone = value.trim();
    if (!phone) return '';
    if (phone.length > 40 || !/^[0-9 +\-().]+$/.test(phone) || !/[0-9]/.test(phone)) {
      return 'Please enter a phone number using digits, spaces and + - ( ) . (at most 40 characters).';
    }
    return '';
  }

  function checkAnswer(question, value) {
    if (question.required && !value.trim()) return 'This question needs an answer.';
    if (codePoints(value) > 2000) return 'Please keep the answer under 2000 characters.';
    return '';
  }

  // ---------------------------------------------------------------- GraphQL over APQ
  class AuraError extends Error {
    constructor(code, message, field) {
      super(message);
      this.code = code || 'INTERNAL_ERROR';
      this.field = field || null;
    }
  }

  const FRIENDLY = {
    NETWORK_ERROR: 'The booking service could not be reached. Check your connection and try again.',
    RATE_LIMITED: 'Too many requests right now. Please wait a minute and try again.',
    SERVICE_UNAVAILABLE: 'The booking service is busy. Please try again in a moment.',
    INTERNAL_ERROR: 'Something went wrong on our side. Please try again.',
    PERSISTED_QUERY_NOT_FOUND: 'This booking widget is out of date. Please reload the page.',
  };

  async function graphql(api, operationName, variables, isMutation, fresh) {
    const hash = OPERATIONS[operationName];
    if (!hash) {
      throw new AuraError('PERSISTED_QUERY_NOT_FOUND', `widget.js was not served by Aura (no hash for ${operationName}).`);
    }
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    let response;
    try {
      if (isMutation) {
        response = await fetch(`${api}/graphql`, {
          method: 'POST',
          mode: 'cors',
          credentials: 'omit',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ operationName, variables, extensions }),
        });
      } else {
        const query = `operationName=${encodeURIComponent(operationName)}`
          + `&variables=${encodeURIComponent(JSON.stringify(variables))}`
          + `&extensions=${encodeURIComponent(JSON.stringify(extensions))}`;
        // `fresh` revalidates with the server instead of using a cached answer (after a CONFLICT).
        response = await fetch(`${api}/graphql?${query}`, {
          method: 'GET', mode: 'cors', credentials: 'omit', cache: fresh ? 'no-cache' : 'default',
        });
      }
    } catch (_) {
      throw new AuraError('NETWORK_ERROR', FRIENDLY.NETWORK_ERROR);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) { /* not JSON */ }
    if (body && Array.isArray(body.errors) && body.errors.length) {
      const first = body.errors[0] || {};
      const ext = first.extensions || {};
      throw new AuraError(ext.code, first.message || FRIENDLY.INTERNAL_ERROR, ext.field);
    }
    if (body && body.success === false) throw new AuraError(body.code, body.error);
    if (!response.ok || !body || !body.data) {
      const code = response.status === 429 ? 'RATE_LIMITED' : response.status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR';
      throw new AuraError(code, FRIENDLY[code]);
    }
    return body.data;
  }

  // ---------------------------------------------------------------- the widget
  const ICON_CLOSE = '\u00d7';

  class Widget {
    constructor(host) {
      this.host = host;
      this.id = `aura${++uid}`;
      this.mode = (this.attr('mode') || 'inline').toLowerCase();
      if (!['inline', 'popup', 'page', 'manage'].includes(this.mode)) this.mode = 'inline';
      this.api = (this.attr('api') || SCRIPT_ORIGIN).replace(/\/+$/, '');
      const locale = this.attr('locale');
      this.locale = locale && validLocale(locale) ? locale : (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
      let detected = '';
      try {
        detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
      } catch (_) { /* no Intl zone support */ }
      const wanted = this.attr('timezone');
      this.zone = validZone(wanted) ? wanted : validZone(detected) ? detected : 'UTC';
      this.headingLevel = this.mode === 'page' || this.mode === 'manage' ? 1 : 2;
      this.slotCache = new Map();
      this.state = { view: 'loading', page: 0, values: this.prefill(), errors: {} };
      this.utm = this.readUtm();
      this.loaded = false;
      this.lastHeight = 0;
      this.build();
    }

    attr(name) {
      const host = this.host;
      const value = host.getAttribute(name) ?? host.getAttribute(`data-${name}`);
      return value === null ? null : value.trim();
    }

    prefill() {
      const values = {};
      for (const key of ['name', 'email', 'phone']) {
        values[key] = this.attr(key) || (key !== 'phone' ? QUERY_PARAMS.get(key) || '' : '');
      }
      return values;
    }

    readUtm() {
      const utm = {};
      let any = false;
      for (const key of UTM_KEYS) {
        const value = (this.attr(`utm-${key}`) || QUERY_PARAMS.get(`utm_${key}`) || '').trim();
        if (value) {
          utm[key] = Array.from(value).slice(0, 200).join('');
          any = true;
        }
      }
      return any ? utm : null;
    }

    // -------------------------------------------------------------- skeleton
    build() {
      const shadow = this.host.shadowRoot || this.host.attachShadow({ mode: 'open' });
      shadow.textContent = '';
      this.shadow = shadow;
      const brand = this.attr('brand-color');
      if (brand && window.CSS && CSS.supports('color', brand)) this.host.style.setProperty('--aura-brand', brand);

      const root = h('div', { class: `aura aura--${this.mode}`, part: 'root', hidden: true });
      this.root = root;
      this.applyTheme();
      const link = h('link', { rel: 'stylesheet', href: `${this.api}/widget.css` });
      const reveal = () => {
        root.hidden = false;
        this.reportHeight();
      };
      link.addEventListener('load', reveal, { once: true });
      link.addEventListener('error', reveal, { once: true });
      shadow.append(link, root);

      this.live = h('div', { class: 'aura-sr', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
      this.panel = h('div', { class: 'aura-panel' });
      if (this.mode === 'popup') {
        this.launcher = h('button', {
          type: 'button', class: 'aura-launch aura-primary', part: 'button', 'aria-haspopup': 'dialog',
          onclick: () => this.openDialog(),
        }, this.attr('button-text') || 'Book a call');
        this.dialog = h('dialog', { class: 'aura-dialog', 'aria-labelledby': `${this.id}-title`, 'aria-modal': 'true' },
          h('button', { type: 'button', class: 'aura-close', 'aria-label': 'Close', onclick: () => this.closeDialog() }, ICON_CLOSE),
          this.panel, this.live); // inside: the page behind a modal dialog is inert
        this.dialog.addEventListener('cancel', (event) => {
          event.preventDefault();
          this.closeDialog();
        });
        this.dialog.addEventListener('keydown', (event) => this.trapFocus(event));
        this.dialog.addEventListener('click', (event) => {
          if (event.target === this.dialog) this.closeDialog();
        });
        root.append(this.launcher, this.dialog);
      } else {
        root.append(this.panel, this.live);
        this.start();
      }
      if (window.ResizeObserver) {
        this.resizeObserver = new ResizeObserver(() => this.reportHeight());
        this.resizeObserver.observe(root);
      }
    }

    applyTheme() {
      const theme = (this.attr('theme') || 'light').toLowerCase();
      let dark = theme === 'dark';
      if (theme === 'auto' && window.matchMedia) {
        const query = window.matchMedia('(prefers-color-scheme: dark)');
        dark = query.matches;
        if (!this.themeQuery) {
          this.themeQuery = query;
          this.onThemeChange = () => this.applyTheme();
          query.addEventListener('change', this.onThemeChange);
        }
      }
      this.root.classList.toggle('aura--dark', dark);
      this.root.classList.toggle('aura--light', !dark);
    }

    destroy() {
      if (this.resizeObserver) this.resizeObserver.disconnect();
      if (this.themeQuery) this.themeQuery.removeEventListener('change', this.onThemeChange);
    }

    start() {
      if (this.loaded) return;
      this.loaded = true;
      if (this.mode === 'manage') this.loadBooking();
      else this.loadLink();
    }

    // -------------------------------------------------------------- events to the host page
    emit(type, detail) {
      this.host.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
      if (window.parent !== window) {
        try {
          window.parent.postMessage({ type, detail }, '*');
        } catch (_) { /* detached parent */ }
      }
    }

    emitError(error) {
      this.emit('aura:error', { code: error.code || 'INTERNAL_ERROR', message: error.message });
    }

    publicBooking(booking) {
      const link = booking.bookingLink || {};
      return {
        start: booking.start,
        end: booking.end,
        status: booking.status,
        bookingLink: { slug: link.slug, name: link.name, timezone: link.timezone },
      };
    }

    reportHeight() {
      if (window.parent === window || this.root.hidden) return;
      const rect = this.host.getBoundingClientRect();
      const bodyStyle = getComputedStyle(document.body);
      const height = Math.ceil(rect.bottom + window.scrollY
        + (parseFloat(bodyStyle.paddingBottom) || 0) + (parseFloat(bodyStyle.marginBottom) || 0));
      if (height !== this.lastHeight) {
        this.lastHeight = height;
        try {
          window.parent.postMessage({ type: 'aura:resize', height }, '*');
        } catch (_) { /* detached parent */ }
      }
    }

    announce(message) {
      this.live.textContent = '';
      // A fresh text node after a tick makes screen readers read repeated messages too.
      setTimeout(() => { this.live.textContent = message; }, 30);
    }

    // -------------------------------------------------------------- popup
    openDialog() {
      if (this.dialog.open) return;
      this.returnFocus = this.shadow.activeElement || document.activeElement;
      if (typeof this.dialog.showModal === 'function') this.dialog.showModal();
      else this.dialog.setAttribute('open', '');
      this.start();
      this.focusFirst(this.dialog);
    }

    closeDialog() {
      if (!this.dialog.open) return;
      if (typeof this.dialog.close === 'function') this.dialog.close();
      else this.dialog.removeAttribute('open');
      const target = this.returnFocus && this.returnFocus.isConnected ? this.returnFocus : this.launcher;
      target.focus();
    }

    focusables(container) {
      return Array.from(container.querySelectorAll(
        'button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])',
      )).filter((el) => !el.disabled && !el.closest('[hidden]') && el.getClientRects().length > 0);
    }

    focusFirst(container) {
      const title = container.querySelector('.aura-title');
      if (title) title.focus();
      else {
        const first = this.focusables(container)[0];
        if (first) first.focus();
      }
    }

    trapFocus(event) {
      if (event.key !== 'Tab') return;
      const items = this.focusables(this.dialog);
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      const active = this.shadow.activeElement;
      if (event.shiftKey && (active === first || !this.dialog.contains(active) || active === this.dialog.querySelector('.aura-title'))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !this.dialog.contains(active))) {
        event.preventDefault();
        first.focus();
      }
    }

    // -------------------------------------------------------------- rendering frame
    heading(level, props, text) {
      const n = Math.min(6, this.headingLevel + level);
      return h(`h${n}`, props, text);
    }

    render(view, focus) {
      const panel = this.panel;
      const hadFocus = panel.contains(this.shadow.activeElement);
      panel.textContent = '';
      const title = this.link ? this.link.name : this.booking ? this.booking.bookingLink.name : 'Book a call';
      const meta = [];
      const minutes = this.link ? this.link.durationMinutes : this.booking && this.booking.bookingLink.durationMinutes;
      if (minutes) meta.push(this.formatMinutes(minutes));
      panel.append(h('header', { class: 'aura-head' },
        this.heading(0, { class: 'aura-title', id: `${this.id}-title`, tabindex: '-1' }, title),
        meta.length ? h('p', { class: 'aura-meta' }, meta.join(' \u00b7 ')) : null));
      const body = h('div', { class: 'aura-body' });
      body.append(...[].concat(view).filter((part) => part !== null && part !== undefined && part !== false));
      panel.append(body);
      // `focus`: an element, a selector, or selectors to try in order.
      const target = [].concat(focus || []).reduce((found, f) => found || (typeof f === 'string' ? panel.querySelector(f) : f), null);
      if (target) target.focus();
      else if (hadFocus) panel.querySelector('.aura-title').focus();
      this.reportHeight();
    }

    renderLoading(message) {
      this.render([h('p', { class: 'aura-loading' }, message)]);
      this.announce(message);
    }

    renderFatal(error, retry) {
      const message = error.code === 'NOT_FOUND'
        ? (this.mode === 'manage' ? 'This booking could not be found. The link may be incomplete.' : 'This booking page is not available.')
        : error.message;
      this.render([
        h('p', { class: 'aura-alert', role: 'alert' }, message),
        retry && error.code !== 'NOT_FOUND' ? h('button', { type: 'button', class: 'aura-secondary', onclick: retry }, 'Try again') : null,
      ]);
    }

    // -------------------------------------------------------------- formatting
    fmt(options, ms) {
      return new Intl.DateTimeFormat(this.locale, { timeZone: this.zone, ...options }).format(new Date(ms));
    }

    formatMinutes(minutes) {
      try {
        return new Intl.NumberFormat(this.locale, { style: 'unit', unit: 'minute', unitDisplay: 'long' }).format(minutes);
      } catch (_) {
        return `${minutes} min`;
      }
    }

    formatDay(ms) {
      return this.fmt({ weekday: 'long', month: 'long', day: 'numeric' }, ms);
    }

    formatTime(ms) {
      return this.fmt({ hour: 'numeric', minute: '2-digit' }, ms);
    }

    formatWhen(start, end) {
      const s = Date.parse(start);
      const e = Date.parse(end);
      const day = this.fmt({ weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }, s);
      return `${day}, ${this.formatTime(s)} \u2013 ${this.formatTime(e)}`;
    }

    formatRange(fromMs, toMs) {
      const opts = { timeZone: this.zone, month: 'short', day: 'numeric', year: 'numeric' };
      const f = new Intl.DateTimeFormat(this.locale, opts);
      const a = new Date(fromMs);
      const b = new Date(toMs - 1);
      return typeof f.formatRange === 'function' ? f.formatRange(a, b) : `${f.format(a)} \u2013 ${f.format(b)}`;
    }

    zoneName() {
      return this.zone.replace(/_/g, ' ');
    }

    // -------------------------------------------------------------- booking link and slots
    async loadLink() {
      const slug = this.attr('slug') || this.attr('aura-booking');
      if (!slug) {
        this.renderFatal(new AuraError('VALIDATION_ERROR', 'No booking link: set the slug attribute.'));
        return;
      }
      this.slug = slug;
      this.renderLoading('Loading available times\u2026');
      try {
        const data = await graphql(this.api, 'PublicBookingLink', { slug }, false);
        this.link = data.publicBookingLink;
        this.link.questions = Array.isArray(this.link.questions) ? this.link.questions : [];
        this.emit('aura:ready', { slug: this.link.slug, name: this.link.name });
        this.showSlots({ autoAdvance: true });
      } catch (error) {
        this.emitError(error);
        this.renderFatal(error, () => {
          this.loaded = false;
          this.start();
        });
      }
    }

    /** Local calendar day number of the first day of page `page`. */
    pageStartDay(page) {
      return dayNumberIn(this.zone, Date.now()) + page * WEEK_DAYS;
    }

    /** Forgets fetched slots; the next fetches bypass HTTP caches too. */
    invalidateSlots() {
      this.slotCache.clear();
      this.fresh = true;
    }

    pageRange(page) {
      const first = this.pageStartDay(page);
      return { from: midnightIn(this.zone, first), to: midnightIn(this.zone, first + WEEK_DAYS) };
    }

    horizonEnd() {
      return Date.now() + (this.link.horizonDays || 0) * DAY;
    }

    hasPage(page) {
      return page >= 0 && this.pageRange(page).from < this.horizonEnd();
    }

    async fetchSlots(page) {
      const { from, to } = this.pageRange(page);
      // Round "now" down to 5 minutes so a week's request URL stays the same (cacheable) for a while.
      const now = Math.floor(Date.now() / 300000) * 300000;
      let start = Math.max(from, now);
      const slots = [];
      while (start < to) {
        const end = Math.min(start + WEEK_DAYS * DAY, to);
        const key = `${start}/${end}`;
        let promise = this.slotCache.get(key);
        if (!promise) {
          promise = graphql(this.api, 'AvailableSlots', { slug: this.link.slug, from: isoUtc(start), to: isoUtc(end) }, false, this.fresh)
            .then((data) => data.availableSlots);
          this.slotCache.set(key, promise);
          promise.catch(() => this.slotCache.delete(key));
        }
        slots.push(...(await promise));
        start = end;
      }
      return slots.filter((slot) => {
        const t = Date.parse(slot.start);
        return t >= from && t < to;
      });
    }

    async showSlots(options = {}) {
      const state = this.state;
      state.view = 'slots';
      state.notice = options.notice || null;
      const token = (this.slotsRequest = (this.slotsRequest || 0) + 1);
      this.renderSlots(null, options);
      try {
        let slots = await this.fetchSlots(state.page);
        if (options.autoAdvance) {
          while (!slots.length && this.hasPage(state.page + 1) && token === this.slotsRequest) {
            state.page += 1;
            slots = await this.fetchSlots(state.page);
          }
        }
        if (token !== this.slotsRequest) return;
        this.fresh = false;
        this.renderSlots(slots, options);
      } catch (error) {
        if (token !== this.slotsRequest) return;
        this.emitError(error);
        this.renderSlots([], { ...options, error });
      }
    }

    renderSlots(slots, options = {}) {
      const state = this.state;
      const range = this.pageRange(state.page);
      const parts = [];
      if (this.rescheduling) {
        parts.push(h('p', { class: 'aura-note' },
          `Pick a new time for your call (now ${this.formatWhen(this.booking.start, this.booking.end)}).`));
      }
      const select = h('select', { id: `${this.id}-zone`, class: 'aura-select', onchange: (event) => this.changeZone(event.target.value) });
      for (const zone of zoneList([this.zone, this.link.timezone])) {
        select.append(h('option', { value: zone, selected: zone === this.zone }, zoneLabel(zone)));
      }
      parts.push(h('div', { class: 'aura-zone' },
        h('label', { for: `${this.id}-zone` }, 'Time zone'), select));
      if (state.notice) parts.push(h('p', { class: 'aura-alert', role: 'alert', tabindex: '-1' }, state.notice));
      const prev = h('button', {
        type: 'button', class: 'aura-nav aura-prev', 'aria-label': 'Previous week',
        disabled: !this.hasPage(state.page - 1), onclick: () => this.goPage(-1),
      }, '\u2039');
      const next = h('button', {
        type: 'button', class: 'aura-nav aura-next', 'aria-label': 'Next week',
        disabled: !this.hasPage(state.page + 1), onclick: () => this.goPage(1),
      }, '\u203a');
      parts.push(h('div', { class: 'aura-week' }, prev,
        h('span', { class: 'aura-range', id: `${this.id}-range` }, this.formatRange(range.from, range.to)), next));

      const days = h('div', { class: 'aura-days', 'aria-busy': slots ? 'false' : 'true' });
      if (!slots) {
        days.append(h('p', { class: 'aura-loading' }, 'Loading available times\u2026'));
      } else if (options.error) {
        days.append(h('p', { class: 'aura-alert', role: 'alert' }, options.error.message),
          h('button', { type: 'button', class: 'aura-secondary', onclick: () => this.showSlots() }, 'Try again'));
      } else if (!slots.length) {
        days.append(h('p', { class: 'aura-empty' },
          this.hasPage(state.page + 1) ? 'No free times this week. Try the next week.' : 'No free times left in this period.'));
      } else {
        const groups = new Map();
        for (const slot of slots) {
          const day = dayNumberIn(this.zone, Date.parse(slot.start));
          if (!groups.has(day)) groups.set(day, []);
          groups.get(day).push(slot);
        }
        let index = 0;
        for (const [day, daySlots] of groups) {
          const headingId = `${this.id}-day-${day}`;
          const list = h('div', { role: 'listbox', class: 'aura-slots', 'aria-labelledby': headingId, onkeydown: (event) => this.slotKey(event) });
          const stop = Math.max(0, daySlots.findIndex((slot) => state.slot && state.slot.start === slot.start));
          daySlots.forEach((slot, i) => {
            const t = Date.parse(slot.start);
            const selected = state.slot && state.slot.start === slot.start;
            list.append(h('div', {
              role: 'option', class: 'aura-slot', id: `${this.id}-slot-${index++}`, tabindex: i === stop ? '0' : '-1',
              'aria-selected': selected ? 'true' : 'false', 'data-start': slot.start, 'data-end': slot.end,
              onclick: () => this.pickSlot(slot),
            }, this.formatTime(t)));
          });
          days.append(h('section', { class: 'aura-day' },
            this.heading(1, { class: 'aura-day-title', id: headingId }, this.formatDay(Date.parse(daySlots[0].start))), list));
        }
      }
      parts.push(days);
      if (this.rescheduling) {
        parts.push(h('div', { class: 'aura-actions' },
          h('button', { type: 'button', class: 'aura-secondary', onclick: () => this.showBooking() }, 'Keep the current time')));
      }
      this.render(parts, options.focus);
      if (slots && !options.error) {
        const label = this.formatRange(range.from, range.to);
        this.announce(slots.length
          ? `${slots.length} free ${slots.length === 1 ? 'time' : 'times'} for ${label}, in ${this.zoneName()}.`
          : `No free times for ${label}.`);
      }
    }

    slotKey(event) {
      const options = Array.from(event.currentTarget.querySelectorAll('[role="option"]'));
      const current = options.indexOf(event.target);
      if (current < 0) return;
      let next = -1;
      switch (event.key) {
        case 'ArrowDown':
        case 'ArrowRight':
          next = Math.min(options.length - 1, current + 1);
          break;
        case 'ArrowUp':
        case 'ArrowLeft':
          next = Math.max(0, current - 1);
          break;
        case 'Home':
          next = 0;
          break;
        case 'End':
          next = options.length - 1;
          break;
        case 'Enter':
        case ' ':
          event.preventDefault();
          event.target.click();
          return;
        default:
          return;
      }
      event.preventDefault();
      options[current].tabIndex = -1;
      options[next].tabIndex = 0;
      options[next].focus();
    }

    goPage(delta) {
      if (!this.hasPage(this.state.page + delta)) return;
      this.state.page += delta;
      const focus = delta < 0 ? '.aura-prev' : '.aura-next';
      this.showSlots({ focus }).then(() => {
        const button = this.panel.querySelector(focus);
        if (button && button.disabled) {
          const other = this.panel.querySelector(delta < 0 ? '.aura-next' : '.aura-prev');
          if (other) other.focus();
        }
      });
    }

    changeZone(zone) {
      if (!validZone(zone)) return;
      this.zone = zone;
      this.emit('aura:timezone-changed', { timezone: zone });
      this.showSlots({ focus: `#${this.id}-zone` });
    }

    pickSlot(slot) {
      this.state.slot = { start: slot.start, end: slot.end };
      this.emit('aura:slot-selected', { start: slot.start, end: slot.end });
      if (this.rescheduling) this.showRescheduleConfirm();
      else this.showForm();
    }

    // -------------------------------------------------------------- the form
    fields() {
      const fields = [
        { key: 'name', label: 'Name', required: true, autocomplete: 'name', type: 'text', check: checkName },
        { key: 'email', label: 'E-mail', required: true, autocomplete: 'email', type: 'email', check: checkEmail },
        { key: 'phone', label: 'Phone', required: false, autocomplete: 'tel', type: 'tel', check: checkPhone },
      ];
      this.link.questions.forEach((question, i) => {
        fields.push({
          key: `q:${question.key}`, answer: question.key, label: question.label, required: !!question.required,
          multiline: !!question.multiline, type: 'text', id: `q${i}`, check: (value) => checkAnswer(question, value),
        });
      });
      return fields;
    }

    showForm(focusKey) {
      const state = this.state;
      state.view = 'form';
      const slot = state.slot;
      const form = h('form', { class: 'aura-form', novalidate: true, onsubmit: (event) => this.submit(event) });
      for (const field of this.fields()) {
        const id = `${this.id}-f-${field.id || field.key}`;
        const errorId = `${id}-err`;
        const error = state.errors[field.key] || '';
        const control = h(field.multiline ? 'textarea' : 'input', {
          id, name: field.key, type: field.multiline ? null : field.type, autocomplete: field.autocomplete || null,
          required: field.required, 'aria-required': field.required ? 'true' : null,
          'aria-invalid': error ? 'true' : null, 'aria-describedby': error ? errorId : null,
          rows: field.multiline ? '3' : null, class: 'aura-input',
          oninput: (event) => { state.values[field.key] = event.target.value; },
        });
        control.value = state.values[field.key] || '';
        form.append(h('div', { class: 'aura-field' },
          h('label', { for: id }, field.label, field.required ? null : h('span', { class: 'aura-optional' }, ' (optional)')),
          control,
          h('p', { class: 'aura-error', id: errorId, hidden: !error }, error)));
      }
      form.append(
        h('p', { class: 'aura-alert', role: 'alert', hidden: !state.formError }, state.formError || ''),
        h('div', { class: 'aura-actions' },
          h('button', { type: 'submit', class: 'aura-primary aura-submit' }, 'Confirm booking'),
          h('button', { type: 'button', class: 'aura-secondary', onclick: () => this.backToSlots() }, 'Choose another time')));
      this.render([
        h('p', { class: 'aura-picked' }, h('strong', null, this.formatWhen(slot.start, slot.end)), h('br'), `Time zone: ${this.zoneName()}`),
        form,
      ]);
      const controls = Array.from(form.querySelectorAll('input, textarea'));
      let target = focusKey ? form.querySelector(`[name="${CSS.escape(focusKey)}"]`) : null;
      if (!target) target = controls.find((c) => c.required && !c.value.trim()) || controls[0];
      if (target) target.focus();
    }

    backToSlots() {
      this.state.errors = {};
      this.state.formError = null;
      this.showSlots({ focus: ['[role="option"][aria-selected="true"]', '[role="option"][tabindex="0"]'] });
    }

    validate() {
      const errors = {};
      for (const field of this.fields()) {
        const message = field.check(this.state.values[field.key] || '');
        if (message) errors[field.key] = message;
      }
      return errors;
    }

    async submit(event) {
      event.preventDefault();
      const state = this.state;
      if (state.busy) return;
      state.formError = null;
      state.errors = this.validate();
      const firstError = this.fields().find((f) => state.errors[f.key]);
      if (firstError) {
        this.showForm(firstError.key);
        this.announce('Please correct the highlighted fields.');
        return;
      }
      const values = state.values;
      const answers = {};
      for (const field of this.fields()) {
        if (field.answer && (values[field.key] || '').trim()) answers[field.answer] = values[field.key].trim();
      }
      const variables = {
        slug: this.link.slug,
        start: state.slot.start,
        name: values.name.trim(),
        email: values.email.trim(),
        phone: (values.phone || '').trim() || null,
        answers: Object.keys(answers).length ? answers : null,
        utm: this.utm,
      };
      this.setBusy(true, 'Booking\u2026');
      try {
        let data;
        try {
          data = await graphql(this.api, 'BookCall', variables, true);
        } catch (error) {
          // Tracking data must never cost a booking: retry once without it.
          if (error.code === 'VALIDATION_ERROR' && error.field && error.field.startsWith('utm') && variables.utm) {
            variables.utm = null;
            data = await graphql(this.api, 'BookCall', variables, true);
          } else {
            throw error;
          }
        }
        this.setBusy(false);
        this.showConfirmation(data.bookCall);
      } catch (error) {
        this.setBusy(false);
        this.emitError(error);
        this.bookingFailed(error);
      }
    }

    setBusy(busy, message) {
      this.state.busy = busy;
      const button = this.panel.querySelector('.aura-submit, .aura-confirm');
      if (button) {
        button.disabled = busy;
        button.setAttribute('aria-busy', busy ? 'true' : 'false');
      }
      if (busy && message) this.announce(message);
    }

    bookingFailed(error) {
      const state = this.state;
      if (error.code === 'CONFLICT') {
        state.slot = null;
        this.invalidateSlots();
        this.showSlots({
          notice: 'Sorry, that time was just taken. Please pick another one: the times below are up to date.',
          focus: '.aura-alert',
        });
        return;
      }
      if (error.code === 'VALIDATION_ERROR' && error.field) {
        const field = error.field.replace(/^answers\.?/, 'q:');
        const known = this.fields().find((f) => f.key === field || (field === 'q:' && f.answer));
        if (known) {
          state.errors = { [known.key]: error.message };
          this.showForm(known.key);
          return;
        }
      }
      state.formError = error.message || FRIENDLY.INTERNAL_ERROR;
      this.showForm();
      const alert = this.panel.querySelector('.aura-alert');
      if (alert) {
        alert.setAttribute('tabindex', '-1');
        alert.focus();
      }
    }

    showConfirmation(booking) {
      const state = this.state;
      state.view = 'done';
      state.slot = null;
      this.token = booking.token;
      const links = [];
      if (booking.token) {
        const token = encodeURIComponent(booking.token);
        links.push(
          h('a', { class: 'aura-button aura-primary', href: `${this.api}/book/manage/${token}/booking.ics`, download: 'booking.ics' }, 'Add to calendar (.ics)'),
          h('a', { class: 'aura-button aura-secondary', href: `${this.api}/book/manage/${token}`, target: this.mode === 'page' ? null : '_blank', rel: 'noopener noreferrer' }, 'Reschedule or cancel'));
      }
      this.render([
        this.heading(1, { class: 'aura-done-title', tabindex: '-1' }, 'You are booked'),
        h('p', { class: 'aura-when' }, h('strong', null, this.formatWhen(booking.start, booking.end)), h('br'), `Time zone: ${this.zoneName()}`),
        h('p', { class: 'aura-note' }, 'Keep the reschedule link private: anyone with it can change this booking.'),
        h('div', { class: 'aura-actions' }, links),
      ], '.aura-done-title');
      this.announce('Your call is booked.');
      this.emit('aura:booked', this.publicBooking(booking));
    }

    // -------------------------------------------------------------- manage: see, reschedule, cancel
    async loadBooking() {
      const token = this.attr('token');
      if (!token) {
        this.renderFatal(new AuraError('NOT_FOUND', 'No booking token.'));
        return;
      }
      this.token = token;
      this.renderLoading('Loading your booking\u2026');
      try {
        const data = await graphql(this.api, 'PublicBooking', { token }, false);
        this.booking = data.publicBooking;
        this.showBooking();
      } catch (error) {
        this.emitError(error);
        this.renderFatal(error, () => {
          this.loaded = false;
          this.start();
        });
      }
    }

    canChange() {
      return this.booking.status === 'SCHEDULED' && Date.parse(this.booking.start) > Date.now();
    }

    showBooking(message) {
      this.rescheduling = false;
      this.state.view = 'booking';
      const booking = this.booking;
      const token = encodeURIComponent(this.token);
      const canceled = booking.status === 'CANCELED';
      const actions = [];
      if (this.canChange()) {
        actions.push(
          h('button', { type: 'button', class: 'aura-primary aura-reschedule', onclick: () => this.startReschedule() }, 'Reschedule'),
          h('button', { type: 'button', class: 'aura-secondary aura-cancel', onclick: () => this.showCancel() }, 'Cancel booking'));
      }
      if (!canceled) {
        actions.push(h('a', { class: 'aura-button aura-secondary', href: `${this.api}/book/manage/${token}/booking.ics`, download: 'booking.ics' }, 'Add to calendar (.ics)'));
      }
      this.render([
        message ? h('p', { class: 'aura-success', role: 'status' }, message) : null,
        this.heading(1, { class: 'aura-done-title', tabindex: '-1' }, canceled ? 'This booking is canceled' : 'Your booking'),
        h('dl', { class: 'aura-details' },
          h('dt', null, 'When'), h('dd', { class: 'aura-when' }, this.formatWhen(booking.start, booking.end)),
          h('dt', null, 'Time zone'), h('dd', null, this.zoneName()),
          h('dt', null, 'Status'), h('dd', { class: 'aura-status' }, STATUS_LABELS[booking.status] || booking.status)),
        actions.length ? h('div', { class: 'aura-actions' }, actions) : null,
      ], message ? '.aura-done-title' : null);
    }

    async startReschedule() {
      this.renderLoading('Loading available times\u2026');
      try {
        if (!this.link) {
          const data = await graphql(this.api, 'PublicBookingLink', { slug: this.booking.bookingLink.slug }, false);
          this.link = data.publicBookingLink;
          this.link.questions = Array.isArray(this.link.questions) ? this.link.questions : [];
        }
        this.rescheduling = true;
        this.state.page = 0;
        this.state.slot = null;
        this.showSlots({ autoAdvance: true, focus: '.aura-title' });
      } catch (error) {
        this.emitError(error);
        this.showBooking();
        this.announce(error.message);
      }
    }

    showRescheduleConfirm() {
      const slot = this.state.slot;
      this.state.view = 'confirm';
      this.render([
        this.heading(1, { class: 'aura-done-title', tabindex: '-1' }, 'Move your call?'),
        h('dl', { class: 'aura-details' },
          h('dt', null, 'From'), h('dd', null, this.formatWhen(this.booking.start, this.booking.end)),
          h('dt', null, 'To'), h('dd', { class: 'aura-when' }, this.formatWhen(slot.start, slot.end)),
          h('dt', null, 'Time zone'), h('dd', null, this.zoneName())),
        h('p', { class: 'aura-alert', role: 'alert', hidden: true }),
        h('div', { class: 'aura-actions' },
          h('button', { type: 'button', class: 'aura-primary aura-confirm', onclick: () => this.reschedule() }, 'Confirm new time'),
          h('button', { type: 'button', class: 'aura-secondary', onclick: () => this.showSlots({ focus: '[role="option"][tabindex="0"]' }) }, 'Choose another time')),
      ], '.aura-confirm');
    }

    async reschedule() {
      if (this.state.busy) return;
      this.setBusy(true, 'Moving your call\u2026');
      try {
        const data = await graphql(this.api, 'RescheduleBooking', { token: this.token, start: this.state.slot.start }, true);
        this.setBusy(false);
        this.booking = { ...this.booking, ...data.rescheduleBooking };
        this.state.slot = null;
        this.invalidateSlots();
        this.emit('aura:rescheduled', this.publicBooking(this.booking));
        this.showBooking(`Your call was moved to ${this.formatWhen(this.booking.start, this.booking.end)}.`);
        this.announce('Your call was moved.');
      } catch (error) {
        this.setBusy(false);
        this.emitError(error);
        if (error.code === 'CONFLICT' && this.canChange()) {
          this.invalidateSlots();
          this.state.slot = null;
          this.showSlots({ notice: `Sorry, that time is no longer free (${error.message}). Please pick another one.`, focus: '.aura-alert' });
        } else {
          const alert = this.panel.querySelector('.aura-alert');
          if (alert) {
            alert.hidden = false;
            alert.textContent = error.message;
          }
        }
      }
    }

    showCancel() {
      this.state.view = 'cancel';
      const id = `${this.id}-reason`;
      const errorId = `${id}-err`;
      const reason = h('textarea', { id, name: 'reason', rows: '3', class: 'aura-input', 'aria-describedby': `${id}-hint` });
      const form = h('form', { class: 'aura-form', novalidate: true, onsubmit: (event) => this.cancel(event, reason, errorId) },
        h('div', { class: 'aura-field' },
          h('label', { for: id }, 'Reason', h('span', { class: 'aura-optional' }, ' (optional)')),
          h('p', { class: 'aura-hint', id: `${id}-hint` }, 'Shared with the person you were meeting.'),
          reason,
          h('p', { class: 'aura-error', id: errorId, hidden: true })),
        h('p', { class: 'aura-alert', role: 'alert', hidden: true }),
        h('div', { class: 'aura-actions' },
          h('button', { type: 'submit', class: 'aura-danger aura-confirm' }, 'Cancel booking'),
          h('button', { type: 'button', class: 'aura-secondary', onclick: () => this.showBooking() }, 'Keep booking')));
      this.render([
        this.heading(1, { class: 'aura-done-title', tabindex: '-1' }, 'Cancel this call?'),
        h('p', { class: 'aura-when' }, this.formatWhen(this.booking.start, this.booking.end)),
        form,
      ], reason);
    }

    async cancel(event, reasonField, errorId) {
      event.preventDefault();
      if (this.state.busy) return;
      const reason = reasonField.value.trim();
      const error = this.panel.querySelector(`#${errorId}`);
      if (codePoints(reason) > 1000) {
        error.hidden = false;
        error.textContent = 'Please keep the reason under 1000 characters.';
        reasonField.setAttribute('aria-invalid', 'true');
        reasonField.setAttribute('aria-describedby', `${reasonField.id}-hint ${errorId}`);
        reasonField.focus();
        return;
      }
      this.setBusy(true, 'Canceling\u2026');
      try {
        const data = await graphql(this.api, 'CancelBooking', { token: this.token, reason: reason || null }, true);
        this.setBusy(false);
        this.booking = { ...this.booking, ...data.cancelBooking };
        this.emit('aura:canceled', this.publicBooking(this.booking));
        this.showBooking('Your call is canceled.');
        this.announce('Your call is canceled.');
      } catch (failure) {
        this.setBusy(false);
        this.emitError(failure);
        const alert = this.panel.querySelector('.aura-form .aura-alert');
        if (failure.code === 'VALIDATION_ERROR' && failure.field === 'reason') {
          error.hidden = false;
          error.textContent = failure.message;
          reasonField.focus();
        } else if (alert) {
          alert.hidden = false;
          alert.textContent = failure.message;
        }
      }
    }
  }

  // ---------------------------------------------------------------- mounting
  const widgets = new WeakMap();

  function mount(el) {
    if (widgets.has(el)) return widgets.get(el);
    const widget = new Widget(el);
    widgets.set(el, widget);
    return widget;
  }

  class AuraBookingElement extends HTMLElement {
    static get observedAttributes() {
      return ['slug', 'token', 'theme', 'brand-color'];
    }

    connectedCallback() {
      if (this.hasAttribute('slug') || this.hasAttribute('token')) mount(this);
    }

    disconnectedCallback() {
      const widget = widgets.get(this);
      if (widget) widget.destroy();
      widgets.delete(this);
    }

    attributeChangedCallback(name, oldValue, newValue) {
      if (oldValue === newValue || !this.isConnected) return;
      const widget = widgets.get(this);
      if (!widget) {
        if (newValue) mount(this);
        return;
      }
      if (name === 'theme') widget.applyTheme();
      else if (name === 'brand-color') {
        if (newValue && CSS.supports('color', newValue)) this.style.setProperty('--aura-brand', newValue);
        else this.style.removeProperty('--aura-brand');
      } else {
        widget.destroy();
        widgets.delete(this);
        mount(this);
      }
    }
  }

  function scan(root) {
    if (root.matches && root.matches('[data-aura-booking]')) mount(root);
    if (root.querySelectorAll) root.querySelectorAll('[data-aura-booking]').forEach(mount);
  }

  window.customElements.define('aura-booking', AuraBookingElement);
  window.AuraBooking = { mount, version: 1 };
  const boot = () => {
    scan(document);
    new MutationObserver((records) => {
      for (const record of records) record.addedNodes.forEach((node) => node.nodeType === 1 && scan(node));
    }).observe(document.documentElement, { childList: true, subtree: true });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
  else boot();
})();
