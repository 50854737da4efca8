// pushpull classroom demo: the same live scores by AJAX polling, WebSocket, long polling and
// Server-Sent Events, side by side, with numbers that are true.
//
// Counted here, in the browser: requests, empty answers, events, coalesced and lost events,
// and event delays: the delay of event e in a panel is the time the panel first holds a state
// that includes e, minus e's `ts_us` (on the server's clock), for every transport alike; a
// poll's answer makes every event since the previous answer visible at once, each with its
// own delay. Counted by the server at its sockets: bytes. Every feed request carries
// `page=ID`, and the server tallies the bytes of those requests for this page;
// `/api/page?page=ID` reads them back (its own bytes count as "other", never as a panel's),
// with the latest WebSocket handshake and poll exchange the server captured for this page.
// Plain JS, no build step, nothing external.
'use strict';

const PAGE = makePageId();
const STATS_EVERY_MS = 1000;
const DELAY_SAMPLES = 2000;
const SPARK_POINTS = 60;
const GOAL_FLASH_MS = 1200;
const TICKER_EVERY_MS = 1500;
// Publication times kept for panels that have not caught up yet (a poll's answer may cover
// thousands of events at a high rate; one poll interval of them is all that is ever needed).
const LOG_KEEP = 20000;
// At most this many events of one answer get a delay sample; more are sampled evenly.
const HOLD_SAMPLES = 5000;
// A long-poll client with no cursor asks with one beyond any seq: the server answers
// 410 Gone with the snapshot to start from (the same path that recovers after a restart).
const NO_CURSOR = Number.MAX_SAFE_INTEGER;

const PANELS = {
  'short-poll': {
    title: 'AJAX polling',
    short: 'AJAX',
    how: (ms) => `fetch('/api/scores') every ${ms} ms: “anything new?”`,
    requests: 'Requests',
    notModified: '304 Not Modified',
  },
  ws: {
    title: 'WebSocket',
    short: 'WebSocket',
    how: () => "new WebSocket('/ws'): the server pushes each change.",
    requests: 'Connections',
    notModified: 'Nothing new',
  },
  'long-poll': {
    title: 'Long polling',
    short: 'Long poll',
    how: () => "fetch('/api/events?since=S&wait=30'): held till there is news.",
    requests: 'Requests',
    notModified: 'Empty answers',
  },
  sse: {
    title: 'Server-Sent Events',
    short: 'SSE',
    how: () => "new EventSource('/sse'): the server pushes each change.",
    requests: 'Connections',
    notModified: 'Nothing new',
  },
};

function makePageId() {
  // crypto.randomUUID needs a secure context; a classroom may open the page by LAN address.
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return 'p' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

// ---- Clock -------------------------------------------------------------------------------
// Same machine: the browser and the server share a clock. Another machine: the offset is
// estimated from the /api/page round trip with the smallest RTT (the sample least disturbed
// by queueing), and an offset smaller than half that RTT is indistinguishable from zero.
const clock = { offsetMs: 0, rttMs: Infinity };

function now() {
  return performance.timeOrigin + performance.now();
}

function clockSample(t0, t1, serverUs) {
  const rtt = t1 - t0;
  if (rtt > clock.rttMs) return;
  clock.rttMs = rtt;
  const offset = serverUs / 1000 - (t0 + t1) / 2;
  clock.offsetMs = Math.abs(offset) <= rtt / 2 ? 0 : offset;
  const el = document.getElementById('clock');
  const pm = `±${(rtt / 2).toFixed(1)} ms`;
  if (clock.offsetMs === 0) {
    el.textContent = `Clock: browser and server agree (${pm})`;
  } else {
    const ahead = clock.offsetMs > 0 ? 'ahead of' : 'behind';
    el.textContent = `Clock: the server's clock is ${Math.abs(Math.round(clock.offsetMs))} ms ${ahead} this browser's (${pm}); delays are corrected for it`;
  }
}

/** Milliseconds from the event's publication to `receivedAt`, on the server's clock. */
function delayMs(receivedAt, tsUs) {
  return Math.max(0, receivedAt + clock.offsetMs - tsUs / 1000);
}

// ---- Publication times: one observer for the whole page ---------------------------------
// A poll's answer is a scoreboard: it carries the newest event's `ts_us` only, yet every
// event it covers needs its own publication time. So the page follows the feed itself with
// one long poll, `/api/events?since=S&wait=30`, *without* `page=`: untagged, its requests
// and bytes are charged to no panel, and it runs whatever the panels do (paused, switched
// off), so the polling panel never depends on the WebSocket panel being open. A panel whose
// answer arrives before the observer has the event's time waits for it: the delay is counted
// from when the panel got its answer, so waiting changes no number.
const feedLog = {
  epoch: null,
  known: 0, // seqs up to here that are not in `events` will never be known
  events: new Map(), // seq → event (without its padding)
  waiters: new Set(), // panels waiting for a publication time
  started: null,

  /** The event, `undefined` while it may still come, `null` if it never will. */
  get(epoch, seq) {
    if (this.epoch === null || epoch > this.epoch) return undefined;
    if (epoch < this.epoch) return null;
    const e = this.events.get(seq);
    if (e) return e;
    return seq <= this.known ? null : undefined;
  },

  add(e) {
    delete e.pad;
    this.events.set(e.seq, e);
    while (this.events.size > LOG_KEEP) {
      const [oldest] = this.events.keys();
      this.events.delete(oldest);
      this.known = Math.max(this.known, oldest);
    }
    ticker.offer(e);
  },

  restart(snap) {
    if (snap.epoch !== this.epoch) this.events.clear();
    this.epoch = snap.epoch;
    this.known = snap.seq; // what came before this snapshot cannot be read any more
  },

  async run(onStarted) {
    let cursor = NO_CURSOR;
    for (;;) {
      try {
        const r = await fetch(`/api/events?since=${cursor}&wait=30`, { cache: 'no-store' });
        const body = await r.json();
        if (r.status === 410) {
          this.restart(body.snapshot);
          cursor = body.snapshot.seq;
          onStarted();
        } else if (r.ok && body.epoch === this.epoch) {
          for (const e of body.events) this.add(e);
          cursor = body.next;
        } else if (r.ok) {
          cursor = NO_CURSOR; // a restarted server that has passed our cursor: start again
        } else {
          throw new Error(`HTTP ${r.status}`);
        }
        for (const p of [...this.waiters]) p.settle();
      } catch {
        await sleep(1000); // the server is away; the same cursor tells what we missed
      }
    }
  },

  start() {
    this.started = new Promise((resolve) => this.run(resolve));
    return this.started;
  },
};

/** The minute as a scoreboard shows it: a match just kicked off is in its first minute. */
function minuteText(minute) {
  return `${Math.max(1, minute)}′`;
}

// ---- The match ticker: what happens on the pitches, one line at a time -------------------
// Fed by the observer, throttled for a projector: the most notable event since the last
// line, at most one line every TICKER_EVERY_MS; minute ticks and possession never show.
const TICKER = {
  goal: [5, 'GOAL'],
  card: [3, 'Yellow card'],
  substitution: [3, 'Substitution'],
  kick_off: [3, 'Kick-off'],
  half_time: [3, 'Half-time'],
  second_half: [3, 'Second half'],
  full_time: [4, 'Full time'],
  shot: [2, 'Shot'],
  corner: [2, 'Corner'],
};

const ticker = {
  best: null,
  shownAt: 0,
  timer: 0,

  offer(e) {
    const rank = TICKER[e.kind];
    if (!rank || (this.best && TICKER[this.best.kind][0] > rank[0])) return;
    this.best = e;
    if (this.timer) return;
    this.timer = setTimeout(() => this.show(), Math.max(0, this.shownAt + TICKER_EVERY_MS - now()));
  },

  show() {
    this.timer = 0;
    const e = this.best;
    this.best = null;
    if (!e) return;
    this.shownAt = now();
    const m = e.match;
    const score = `${m.home} ${m.home_goals}–${m.away_goals} ${m.away}`;
    const who = e.team === 'home' ? m.home : e.team === 'away' ? m.away : null;
    const label = TICKER[e.kind][1];
    let text = `${minuteText(m.minute)} ${label} — ${who || score}`;
    if (e.kind === 'goal') text = `${minuteText(m.minute)} ${label} for ${who} — ${score}`;
    else if (e.kind === 'kick_off') text = `${label} — ${m.home} v ${m.away}`;
    setText('ticker', text);
  },
};

// ---- Goals: each panel's delay for each goal ---------------------------------------------
// A goal's delay in a panel is that event's delay there, the very number the panel's delay
// counters take in, so the race line and the counters always agree.
const goals = new Map(); // `${epoch}|${seq}` → { e, first, firstAt, delays: Map(panel → ms) }
let race = null; // the goal being raced on screen
let raceOpenUntil = 0;

function goalReached(panel, e, ms, at) {
  const key = `${e.epoch}|${e.seq}`;
  let g = goals.get(key);
  if (!g) {
    g = { e, first: panel, firstAt: at, delays: new Map() };
    goals.set(key, g);
    panel.goalsFirst += 1;
    if (goals.size > 500) {
      for (const [k, old] of goals) if (at - old.firstAt > 60000) goals.delete(k);
    }
    // One race at a time, so each flash can be followed with the eye.
    if (!race || now() > raceOpenUntil) {
      race = g;
      raceOpenUntil = now() + 4000;
      panel.flash();
    }
  } else if (at < g.firstAt) {
    // This panel held the goal earlier; its publication time only became known now.
    g.first.goalsFirst -= 1;
    panel.goalsFirst += 1;
    g.first = panel;
    g.firstAt = at;
  }
  g.delays.set(panel, ms);
  if (race === g) renderRace();
}

function renderRace() {
  const m = race.e.match;
  const lags = [...race.delays].sort((a, b) => a[1] - b[1]);
  const parts = lags.map(([p, ms]) => `${p.spec.short} ${Math.round(ms)} ms`);
  const score = `${m.home} ${m.home_goals}–${m.away_goals} ${m.away}`;
  setText('race', `Goal! ${minuteText(m.minute)} ${score}. Delay: ${parts.join(' · ')}`);
}

// ---- Panels ------------------------------------------------------------------------------
class Panel {
  constructor(transport, row) {
    this.transport = transport;
    this.spec = PANELS[transport];
    const frag = document.getElementById('panel-template').content.cloneNode(true);
    this.el = frag.querySelector('.panel');
    this.el.dataset.transport = transport;
    this.el.id = `panel-${transport}`;
    const title = this.el.querySelector('.panel-title');
    title.textContent = this.spec.title;
    title.id = `title-${transport}`;
    this.el.setAttribute('aria-labelledby', title.id);
    this.el.querySelector('.label-requests').textContent = this.spec.requests;
    this.el.querySelector('.label-not-modified').textContent = this.spec.notModified;
    this.how = this.el.querySelector('.panel-how');
    this.stateEl = this.el.querySelector('.panel-state');
    this.board = this.el.querySelector('.board tbody');
    this.sparkLine = this.el.querySelector('.spark-line');
    this.sparkMax = this.el.querySelector('.spark-max');
    this.pauseButton = this.el.querySelector('.pause');
    this.pauseButton.setAttribute('aria-describedby', title.id);
    this.pauseButton.addEventListener('click', () => this.setPaused(!this.paused));
    this.metricEls = {};
    for (const m of this.el.querySelectorAll('[data-metric]')) this.metricEls[m.dataset.metric] = m;
    row.appendChild(frag);

    this.gen = 0; // bumped by every start and stop: callbacks of an older generation do nothing
    this.enabled = false;
    this.paused = false;
    this.bytes = { toPage: 0, fromPage: 0 };
    this.bytesBase = { toPage: 0, fromPage: 0 };
    this.rows = new Map();
    this.epoch = null;
    this.seq = 0;
    this.resetCounters();
    this.describe();
  }

  resetCounters() {
    this.requests = this.isOpen ? 1 : 0;
    this.notModified = 0;
    this.events = 0;
    this.coalesced = 0;
    this.lost = 0;
    this.waiting = []; // events held but whose publication time is not known yet: { epoch, seq, at }
    this.delays = [];
    this.delayLast = null;
    this.delayWorst = null;
    this.spark = [];
    this.goalsFirst = 0;
    // Bodies and messages as the page got them after the browser decoded them: beside the
    // wire bytes (compressed when the browser offered it, which it always does), the saving.
    this.decoded = 0;
    this.bytesBase = { ...this.bytes };
  }

  describe() {
    this.how.textContent = this.spec.how(pollInterval());
  }

  live(gen) {
    return gen === this.gen && this.enabled && !this.paused;
  }

  setEnabled(on) {
    if (on === this.enabled) return;
    this.enabled = on;
    if (on && !this.paused) this.start();
    if (!on) this.stop();
  }

  setPaused(p) {
    this.paused = p;
    // The label says what the button will do (no aria-pressed: the label changes instead).
    this.pauseButton.textContent = p ? 'Resume' : 'Pause';
    this.el.classList.toggle('paused', p);
    if (p) {
      this.stop();
      this.setState('paused');
    } else if (this.enabled) {
      this.start();
    }
    render();
  }

  start() {
    this.gen += 1;
    // A (re)start begins from the current scores: what happened while paused is neither coalesced nor lost.
    this.baseline = true;
    this.setState('connecting…');
    this.open(this.gen);
  }

  stop() {
    this.gen += 1;
    this.isOpen = false;
    this.close();
  }

  setState(text) {
    if (this.stateEl.textContent !== text) this.stateEl.textContent = text;
  }

  /** The full state (first message of a push transport, a poll's answer, a 410's restart point). */
  snapshot(s, receivedAt) {
    const fresh = this.baseline || s.epoch !== this.epoch;
    if (!fresh && s.seq <= this.seq) return;
    if (fresh) {
      this.waiting = [];
    } else {
      // One update received: the newest event, whose time the snapshot carries. Every event
      // since the last state held is coalesced into it: its effect is on this scoreboard,
      // the event itself never came. All of them became visible now, each with its own delay.
      this.events += 1;
      this.coalesced += s.seq - this.seq - 1;
      this.hold(s.epoch, this.seq, s.seq, receivedAt);
    }
    this.epoch = s.epoch;
    this.seq = s.seq;
    for (const m of s.matches) this.showMatch(m, !fresh);
    this.baseline = false;
    render();
  }

  /** One event of a push transport or a long poll. */
  event(e, receivedAt) {
    if (this.baseline || e.epoch !== this.epoch) {
      // No snapshot yet for this feed (a restarted server): start counting from here.
      this.epoch = e.epoch;
      this.seq = e.seq - 1;
      this.baseline = false;
    }
    if (e.seq <= this.seq) return; // a duplicate: already shown
    // A gap with no snapshot to cover it: those events are lost, not even their effect came.
    this.lost += e.seq - this.seq - 1;
    this.events += 1;
    this.seq = e.seq;
    this.reach(e, receivedAt);
    this.showMatch(e.match, true);
    render();
  }

  /** Events (from, to] became visible at `at`: each gets its delay once its time is known. */
  hold(epoch, from, to, at) {
    const step = Math.max(1, Math.ceil((to - from) / HOLD_SAMPLES));
    for (let seq = to - Math.floor((to - from - 1) / step) * step; seq <= to; seq += step) {
      this.waiting.push({ epoch, seq, at });
    }
    if (this.waiting.length > LOG_KEEP) this.waiting.splice(0, this.waiting.length - LOG_KEEP);
    this.settle();
  }

  /** Takes in the delays of held events whose publication time is now known, in seq order. */
  settle() {
    let i = 0;
    for (; i < this.waiting.length; i++) {
      const w = this.waiting[i];
      const e = feedLog.get(w.epoch, w.seq);
      if (e === undefined) break;
      if (e !== null) this.reach(e, w.at);
    }
    if (i) this.waiting.splice(0, i);
    if (this.waiting.length) feedLog.waiters.add(this);
    else feedLog.waiters.delete(this);
    if (i) render();
  }

  /** The panel first held a state including `e` at `at`. */
  reach(e, at) {
    const ms = delayMs(at, e.ts_us);
    this.sample(ms);
    if (e.kind === 'goal') goalReached(this, e, ms, at);
  }

  sample(ms) {
    this.delayLast = ms;
    this.delayWorst = Math.max(this.delayWorst ?? 0, ms);
    this.delays.push(ms);
    if (this.delays.length > DELAY_SAMPLES) this.delays.shift();
    this.spark.push(ms);
    if (this.spark.length > SPARK_POINTS) this.spark.shift();
  }

  showMatch(m, detect) {
    let row = this.rows.get(m.id);
    if (!row) {
      const tr = document.createElement('tr');
      tr.innerHTML = '<td class="home"></td><td class="score"></td><td class="away"></td><td class="minute"></td>';
      row = { tr, cells: tr.querySelectorAll('td'), m: null, timer: 0 };
      this.rows.set(m.id, row);
      const after = [...this.rows.keys()].filter((id) => id > m.id).sort((a, b) => a - b)[0];
      this.board.insertBefore(tr, after === undefined ? null : this.rows.get(after).tr);
    }
    const prev = row.m;
    row.m = m;
    const [home, score, away, minute] = row.cells;
    home.textContent = m.home;
    away.textContent = m.away;
    score.textContent = `${m.home_goals}–${m.away_goals}`;
    minute.textContent = m.status === 'finished' ? 'FT' : m.status === 'half_time' ? 'HT' : minuteText(m.minute);
    row.tr.classList.toggle('finished', m.status === 'finished');
    const samePair = prev && prev.home === m.home && prev.away === m.away;
    if (detect && samePair && m.home_goals + m.away_goals > prev.home_goals + prev.away_goals) {
      row.tr.classList.add('scored');
      clearTimeout(row.timer);
      row.timer = setTimeout(() => row.tr.classList.remove('scored'), 800);
    }
  }

  flash() {
    this.el.classList.add('goal');
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => this.el.classList.remove('goal'), GOAL_FLASH_MS);
  }

  setBytes(b) {
    this.bytes = { toPage: b.to_page, fromPage: b.from_page };
  }

  /** Shows the HTTP version the panel used: `text` plain, `how` says who reported it. */
  setProtocol(text, how) {
    const el = this.el.querySelector('[data-protocol]');
    if (el.textContent !== text) el.textContent = text;
    el.title = how;
  }

  render(sparkMaxMs) {
    const median = this.delays.length ? medianOf(this.delays) : null;
    const toPage = this.bytes.toPage - this.bytesBase.toPage;
    const fromPage = this.bytes.fromPage - this.bytesBase.fromPage;
    const values = {
      requests: this.requests,
      'not-modified': this.notModified,
      events: this.events,
      coalesced: this.coalesced,
      lost: this.lost,
      'bytes-in': toPage,
      'bytes-decoded': this.decoded,
      'bytes-out': fromPage,
      'bytes-per-event': this.events ? (toPage + fromPage) / this.events : null,
      'delay-last': this.delayLast,
      'delay-median': median,
      'delay-worst': this.delayWorst,
      seq: this.seq,
      'goals-first': this.goalsFirst,
    };
    for (const [k, v] of Object.entries(values)) {
      const text = v === null ? '–' : String(Math.round(v));
      const el = this.metricEls[k];
      if (el && el.textContent !== text) el.textContent = text;
    }
    this.sparkMax.textContent = String(sparkMaxMs);
    const n = this.spark.length;
    const step = 300 / (SPARK_POINTS - 1);
    const pts = this.spark.map((v, i) => {
      const x = 300 - (n - 1 - i) * step; // the newest point at the right edge
      const y = 58 - (Math.min(v, sparkMaxMs) / sparkMaxMs) * 55;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    this.sparkLine.setAttribute('points', pts.join(' '));
  }
}

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A round top for the shared sparkline scale, so the panels can be compared by eye. */
function niceMax(ms) {
  for (const step of [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000]) {
    if (ms <= step) return step;
  }
  return Math.ceil(ms / 60000) * 60000;
}

// AJAX short polling: the whole scoreboard, unless nothing changed (304).
class ShortPollPanel extends Panel {
  async open(gen) {
    this.etag = null; // a (re)start asks for the full scoreboard
    let next = performance.now();
    while (this.live(gen)) {
      await sleep(next - performance.now());
      if (!this.live(gen)) return;
      // Fixed rate: the next poll is due one interval after this one was due, not after
      // this one's answer; a late answer never causes a burst of catch-up polls.
      next = Math.max(next + pollInterval(), performance.now());
      await this.pollOnce(gen);
    }
  }

  async pollOnce(gen) {
    this.controller = new AbortController();
    const headers = this.etag ? { 'If-None-Match': this.etag } : {};
    this.requests += 1;
    render();
    try {
      const r = await fetch(`/api/scores?page=${PAGE}`, {
        headers,
        cache: 'no-store',
        signal: this.controller.signal,
      });
      const body = await r.text();
      const at = now();
      if (!this.live(gen)) return;
      this.decoded += body.length;
      if (r.status === 304) {
        this.notModified += 1;
        this.setState('last answer: 304 Not Modified (nothing new)');
        render();
        return;
      }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      this.etag = r.headers.get('ETag');
      this.setState('last answer: 200 OK with the whole scoreboard');
      this.snapshot(JSON.parse(body), at);
    } catch (e) {
      if (this.live(gen)) this.setState(`poll failed (${e.message}); trying again`);
    }
  }

  close() {
    if (this.controller) this.controller.abort();
  }
}

// WebSocket: one connection, the snapshot first, then one frame per event.
class WsPanel extends Panel {
  open(gen, since) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const resume = since ? `&since=${since}` : '';
    const ws = new WebSocket(`${scheme}//${location.host}/ws?page=${PAGE}${resume}`);
    this.ws = ws;
    ws.onopen = () => {
      if (!this.live(gen)) return;
      this.requests += 1;
      this.isOpen = true;
      this.setState('connected: one connection, kept open');
      render();
    };
    ws.onmessage = (m) => {
      const at = now();
      if (!this.live(gen)) return;
      this.decoded += m.data.length;
      const msg = JSON.parse(m.data);
      if (msg.type === 'snapshot') this.snapshot(msg, at);
      else this.event(msg, at);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.isOpen = false;
      if (!this.live(gen)) return;
      this.setState('connection closed; reconnecting in 1 s');
      // Resume after the last seq shown: the server sends what was missed from its ring.
      setTimeout(() => {
        if (this.live(gen)) this.open(gen, this.seq);
      }, 1000);
    };
  }

  close() {
    if (this.ws) this.ws.close(1000, 'paused');
    this.ws = null;
  }
}

// Server-Sent Events: one never-ending response; the browser reconnects by itself.
class SsePanel extends Panel {
  open(gen) {
    const es = new EventSource(`/sse?page=${PAGE}`);
    this.es = es;
    es.onopen = () => {
      if (!this.live(gen)) return;
      this.requests += 1;
      this.isOpen = true;
      this.setState('connected: one connection, kept open');
      render();
    };
    es.addEventListener('snapshot', (m) => {
      const at = now();
      if (this.live(gen)) {
        this.decoded += m.data.length;
        this.snapshot(JSON.parse(m.data), at);
      }
    });
    es.addEventListener('event', (m) => {
      const at = now();
      if (this.live(gen)) {
        this.decoded += m.data.length;
        this.event(JSON.parse(m.data), at);
      }
    });
    es.onerror = () => {
      if (this.es === es) this.isOpen = false;
      if (this.live(gen)) this.setState('connection lost; the browser reconnects by itself');
    };
  }

  close() {
    if (this.es) this.es.close();
    this.es = null;
  }
}

// Long polling: ask for events after the cursor; the server holds the request until one exists.
class LongPollPanel extends Panel {
  async open(gen) {
    let cursor = NO_CURSOR;
    while (this.live(gen)) {
      this.controller = new AbortController();
      this.requests += 1;
      render();
      try {
        const r = await fetch(`/api/events?since=${cursor}&wait=30&page=${PAGE}`, {
          cache: 'no-store',
          signal: this.controller.signal,
        });
        const body = await r.text();
        const at = now();
        if (!this.live(gen)) return;
        this.decoded += body.length;
        if (r.status === 410) {
          // No cursor yet, or one the server cannot serve (it restarted, or this panel fell
          // behind its ring): go on from the snapshot it carries. Behind the ring, the events
          // skipped are coalesced into that snapshot, as in a poll's answer.
          const gone = JSON.parse(body);
          if (cursor === NO_CURSOR) this.baseline = true;
          this.snapshot(gone.snapshot, at);
          cursor = gone.snapshot.seq;
          this.setState('waiting for news (the server holds the request)');
          continue;
        }
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const page = JSON.parse(body);
        if (page.events.length === 0) this.notModified += 1;
        for (const e of page.events) this.event(e, at);
        cursor = page.next;
        this.setState('waiting for news (the server holds the request)');
        render();
      } catch (e) {
        if (!this.live(gen)) return;
        this.setState(`request failed (${e.message}); trying again in 1 s`);
        await sleep(1000);
      }
    }
  }

  close() {
    if (this.controller) this.controller.abort();
  }
}

// ---- The page ----------------------------------------------------------------------------
const intervalInput = document.getElementById('interval');
const intervalValue = document.querySelector('[data-setting="interval"]');

function pollInterval() {
  const v = Number(intervalInput.value);
  return Math.min(5000, Math.max(250, Number.isFinite(v) ? v : 1000));
}

const mainRow = document.getElementById('row-main');
const moreRow = document.getElementById('row-more');
const panels = [
  new ShortPollPanel('short-poll', mainRow),
  new WsPanel('ws', mainRow),
  new LongPollPanel('long-poll', moreRow),
  new SsePanel('sse', moreRow),
];
const byTransport = Object.fromEntries(panels.map((p) => [p.transport, p]));

let renderPending = false;
function render() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    const shown = panels.filter((p) => p.enabled);
    const worst = Math.max(0, ...shown.flatMap((p) => p.spark));
    const scale = niceMax(worst);
    for (const p of shown) p.render(scale);
  }, 100);
}

intervalInput.addEventListener('input', () => {
  intervalValue.textContent = String(pollInterval());
  byTransport['short-poll'].describe();
});

const moreSwitch = document.getElementById('more');
moreSwitch.addEventListener('click', () => {
  const on = moreSwitch.getAttribute('aria-checked') !== 'true';
  moreSwitch.setAttribute('aria-checked', String(on));
  moreRow.hidden = !on;
  byTransport['long-poll'].setEnabled(on);
  byTransport.sse.setEnabled(on);
  render();
});

document.getElementById('reset').addEventListener('click', () => {
  for (const p of panels) p.resetCounters();
  goals.clear();
  race = null;
  setText('race', 'Counters reset. Waiting for the next goal…');
  render();
});

// ---- Bytes and captured exchanges from the server -----------------------------------------
const BYTES_KEY = { 'short-poll': 'short_poll', ws: 'ws', 'long-poll': 'long_poll', sse: 'sse' };
let statsEpoch = null;

async function refreshStats() {
  try {
    const t0 = now();
    const r = await fetch(`/api/page?page=${PAGE}`, { cache: 'no-store' });
    const t1 = now();
    const s = await r.json();
    if (!r.ok) throw new Error(s.error || `HTTP ${r.status}`);
    clockSample(t0, t1, s.server_time_us);
    if (statsEpoch !== null && s.epoch !== statsEpoch) {
      // A restarted server counts from zero again.
      for (const p of panels) p.bytesBase = { toPage: 0, fromPage: 0 };
    }
    statsEpoch = s.epoch;
    for (const p of panels) p.setBytes(s.bytes[BYTES_KEY[p.transport]] || { to_page: 0, from_page: 0 });
    showProtocols(s.protocols || {});
    document.getElementById('shared-note').hidden = !s.shared_connection;
    showExchanges(s.exchanges);
    render();
  } catch (e) {
    document.getElementById('clock').textContent = `Cannot reach the server (${e.message}).`;
  }
}

// ---- Which HTTP version each panel used ---------------------------------------------------
// The browser says it in resource timing (`nextHopProtocol`) once a request has finished; an
// SSE stream or a WebSocket never finishes while open, so for those (and before the first
// poll has finished) the server's word from /api/page is shown: for the WebSocket, whether
// it is an HTTP/1.1 Upgrade or an HTTP/2 extended CONNECT stream (RFC 8441).
const PANEL_URL = { 'short-poll': '/api/scores?page=', 'long-poll': '&wait=30&page=' };
const PROTOCOL_NAMES = { h1: 'HTTP/1.1', 'http/1.1': 'HTTP/1.1', h2: 'HTTP/2', h3: 'HTTP/3' };
const lastHop = {};
// The buffer holds 250 entries by default: a poll a second fills it in minutes.
performance.addEventListener('resourcetimingbufferfull', () => performance.clearResourceTimings());

function browserProtocol(transport) {
  const key = PANEL_URL[transport];
  if (!key) return null;
  const hits = performance.getEntriesByType('resource').filter((e) => e.name.includes(key) && e.name.includes(PAGE));
  const last = hits[hits.length - 1];
  if (last && last.nextHopProtocol) lastHop[transport] = last.nextHopProtocol;
  return lastHop[transport] || null;
}

function showProtocols(server) {
  for (const p of panels) {
    const seen = browserProtocol(p.transport);
    const said = server[BYTES_KEY[p.transport]];
    if (seen) {
      p.setProtocol(PROTOCOL_NAMES[seen] || seen, `the browser's nextHopProtocol: ${seen}`);
    } else if (said) {
      const name = PROTOCOL_NAMES[said] || said;
      const text = p.transport === 'ws' ? (said === 'h2' ? `${name} stream` : `${name} Upgrade`) : name;
      p.setProtocol(text, `as the server received it: ${said}`);
    }
  }
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el.textContent !== text) el.textContent = text;
}

function setSize(name, n) {
  const el = document.querySelector(`[data-size="${name}"]`);
  const text = n === null || n === undefined ? '–' : String(n);
  if (el.textContent !== text) el.textContent = text;
}

/** A head as lines, without the final blank line; CR LF shown as line breaks. */
function headText(h) {
  return h.replace(/\r\n\r\n$/, '').replace(/\r\n/g, '\n');
}

function showExchanges(x) {
  const ws = x.ws_handshake;
  if (ws) {
    setText('ws-request', headText(ws.request_head));
    setText('ws-response', headText(ws.response_head));
    setSize('ws-request', ws.request_head_bytes);
    setSize('ws-response', ws.response_head_bytes);
  }
  const poll = x.poll_not_modified || x.poll_new;
  if (poll) {
    setText(
      'poll-which',
      poll.status === 304 ? 'The latest poll that found nothing new:' : 'The latest poll that brought news:',
    );
    setText('poll-request', headText(poll.request_head));
    const body = poll.response_body_bytes ? `\n\n(+ ${poll.response_body_bytes} bytes of JSON body)` : '';
    setText('poll-response', headText(poll.response_head) + body);
    setSize('poll-request', poll.request_head_bytes);
    setSize('poll-response', poll.response_head_bytes);
  }
  if (x.poll_new) {
    setSize('poll-new-body', x.poll_new.response_body_bytes);
    setSize('poll-new-head', x.poll_new.response_head_bytes);
  }
}

// ---- Go ------------------------------------------------------------------------------------
document.body.dataset.pageId = PAGE;
document.getElementById('page-id').textContent = PAGE;
intervalValue.textContent = String(pollInterval());
refreshStats();
// The panels start once the observer knows where the feed is (or after 3 s without it), so
// that every event a panel will hold has a publication time to come.
Promise.race([feedLog.start(), sleep(3000)]).then(() => {
  byTransport['short-poll'].setEnabled(true);
  byTransport.ws.setEnabled(true);
});
setInterval(refreshStats, STATS_EVERY_MS);
