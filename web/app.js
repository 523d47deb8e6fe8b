// Entry point: sign-in, the header, the hash router and the countdown ticker.

import { state, fetchSession, getToken, setToken, errorText } from './api.js';
import * as live from './live.js';
import { setUtcOffsetHours } from './fmt.js';
import * as tasks from './tasks.js';
import * as detail from './detail.js';
import * as series from './series.js';
import * as overview from './overview.js';
import * as daily from './daily.js';
import { clearError, clearNotice } from './ui.js';

// Set once per page load. A test (or a curious user) can read it to tell
// that live updates arrived without the page being reloaded.
window.__dwLoadId = `${Date.now()}-${Math.random().toString(16).slice(2)}`;

const $ = (id) => document.getElementById(id);
const IDENTITY = { centre: '反诈中心', station: '派出所', person: '民警/网格员' };

let cleanup = () => {};

/** Hash routes: #/tasks, #/task/<id>, #/series[/<id>], #/overview, #/daily. */
function route() {
  if (!state.session) return;
  const [, page = 'tasks', arg = ''] = location.hash.split('/');
  cleanup();
  clearError();
  clearNotice();
  const root = $('view');
  const views = {
    tasks: () => tasks.show(root),
    task: () => detail.show(root, decodeURIComponent(arg)),
    series: () => series.show(root, decodeURIComponent(arg)),
    overview: () => overview.show(root),
    daily: () => daily.show(root),
  };
  cleanup = (views[page] ?? views.tasks)();
  const nav = page === 'task' ? 'tasks' : page;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === nav);
}

function showLogin(message = '') {
  state.session = null;
  cleanup();
  cleanup = () => {};
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-error').hidden = !message;
  $('login-token').focus();
}

/** Signed in (or dev mode): show the console and start the live feed. */
async function enter(session) {
  state.session = session;
  setUtcOffsetHours(session.utc_offset_hours ?? 8);
  $('login').hidden = true;
  $('app').hidden = false;
  $('dev-banner').hidden = !state.devMode;
  $('logout').hidden = state.devMode;
  $('who').textContent = `${session.actor ?? ''}｜${IDENTITY[session.identity] ?? session.identity ?? ''}｜辖区 ${session.jurisdiction ?? '—'}`;
  // The feed's start position is read before any list loads, so an event
  // between the two is replayed (and dropped by version), never lost.
  try {
    await live.start();
  } catch (e) {
    // The lists still work; say that they will not update by themselves.
    $('live-status').textContent = '实时更新不可用';
    console.warn('events: head', errorText(e));
  }
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/tasks';
  else route();
}

async function signIn(token) {
  try {
    const s = await fetchSession(token);
    setToken(token);
    await enter(s);
  } catch (e) {
    setToken('');
    showLogin(e.status === 401 ? '令牌无效，请核对后重新输入' : errorText(e));
  }
}

async function boot() {
  state.onUnauthorized = () => {
    setToken('');
    live.stop();
    showLogin('令牌已失效，请重新登录');
  };
  live.onStatus((s) => {
    const text = { open: '实时更新：已连接', connecting: '实时更新：连接中…', retrying: '实时更新：重连中…', closed: '实时更新：未连接' }[s];
    const el = $('live-status');
    el.textContent = text;
    el.dataset.state = s;
  });
  window.addEventListener('hashchange', route);
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('login-token').value.trim();
    if (t) signIn(t);
  });
  $('logout').addEventListener('click', () => {
    setToken('');
    live.stop();
    showLogin();
  });
  setInterval(tasks.tick, 1000);

  // Without a token the server answers 200 only in dev mode (no console
  // tokens configured); otherwise 401, and we ask for a token.
  try {
    const s = await fetchSession();
    if (s.dev_mode) {
      state.devMode = true;
      return enter(s);
    }
  } catch (e) {
    if (e.status !== 401) return showLogin(errorText(e));
  }
  const saved = getToken();
  if (saved) return signIn(saved);
  showLogin();
}

boot();
