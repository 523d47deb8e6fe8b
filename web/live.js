// The live task feed: GET /api/events as Server-Sent Events.
//
// EventSource cannot send an Authorization header, so the stream is read
// with fetch() and a small line parser. The `id:` of each event is its
// resume token; after a dropped connection we reconnect with
// `resume=<last id>`, so the server sends exactly the events after it:
// nothing missed, nothing repeated.

import { authHeaders, getJson, state } from './api.js';

const listeners = new Set();
const statusListeners = new Set();
let lastId = '';
let controller = null;
let running = false;
// Bumped by every start: a loop left over from before a logout sees it and ends.
let generation = 0;
let status = 'closed';

/** Calls `fn(taskEvent)` for every event; returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Calls `fn(status)` on 'connecting' | 'open' | 'retrying' | 'closed'. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
}

function setStatus(s) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

/**
 * Starts the feed from "now": the newest event's position, read before the
 * caller loads its lists. Events after it that the list already reflects
 * come again, and the views drop them by Task.version; none is missed.
 */
export async function start() {
  if (running) return;
  const head = await getJson('/api/events/head');
  lastId = head.resume_token ?? '';
  running = true;
  loop(++generation);
}

/** Stops the feed (logout). */
export function stop() {
  running = false;
  controller?.abort();
  setStatus('closed');
}

async function loop(gen) {
  const mine = () => running && gen === generation;
  while (mine()) {
    setStatus('connecting');
    try {
      await readOnce();
    } catch (e) {
      if (!mine()) return;
      if (e?.status === 401) {
        running = false;
        setStatus('closed');
        state.onUnauthorized(e);
        return;
      }
    }
    if (!mine()) return;
    setStatus('retrying');
    // ~1 s, as the server asks no other retry time of us.
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function readOnce() {
  controller = new AbortController();
  const q = new URLSearchParams();
  if (lastId) q.set('resume', lastId);
  const res = await fetch(`/api/events?${q}`, {
    headers: authHeaders({ Accept: 'text/event-stream' }),
    signal: controller.signal,
    cache: 'no-store',
  });
  if (!res.ok) throw Object.assign(new Error(`events: HTTP ${res.status}`), { status: res.status });
  setStatus('open');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let ev = { id: '', event: '', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    // A chunk may end mid-line: keep the tail for the next one.
    const lines = buf.split(/\r\n|\r|\n/);
    buf = lines.pop();
    for (const line of lines) {
      if (line === '') {
        dispatch(ev);
        ev = { id: '', event: '', data: [] };
      } else if (line.startsWith(':')) {
        // Comment: the server's keepalive.
      } else {
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let val = i < 0 ? '' : line.slice(i + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'data') ev.data.push(val);
        else if (field === 'id') ev.id = val;
        else if (field === 'event') ev.event = val;
      }
    }
  }
}

function dispatch(ev) {
  if (ev.data.length === 0) return;
  let msg;
  try {
    msg = JSON.parse(ev.data.join('\n'));
  } catch (e) {
    console.warn('events: unreadable data', e);
    return;
  }
  // Remember the position before handing it on, so that a listener that
  // throws cannot make us replay the event after a reconnect.
  lastId = ev.id || msg.resume_token || lastId;
  if ((ev.event || 'task') !== 'task' || !msg.task) return;
  for (const fn of listeners) {
    try {
      fn(msg);
    } catch (e) {
      console.warn('events: listener failed', e);
    }
  }
}
