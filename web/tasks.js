// 任务列表: the jurisdiction's tasks, filtered, kept live from the event feed.

import { listAll } from './api.js';
import * as live from './live.js';
import {
  h, select, label, num, time, day, countdown, isOverdue,
  LEVEL, LEVEL_CLASS, STATUS, ROLE,
} from './fmt.js';
import { showError, clearError } from './ui.js';

// Filters survive a visit to a task's page and back.
const filters = { level: '', status: '', role: '', created_day: '', overdue: false, jurisdiction: '' };
// A county can hold thousands of tasks a day; past this, ask to filter.
const MAX_ROWS = 2000;

/** One task as a table row; shared with the series view. */
export function taskRow(t) {
  const lv = t.level ?? 'LEVEL_UNSPECIFIED';
  const j = t.jurisdiction ?? {};
  const a = t.assignee ?? {};
  const tr = h('tr', {
    'data-testid': 'task-row',
    'data-task-id': t.id,
    'data-version': num(t.version),
    class: `${LEVEL_CLASS[lv] ?? ''} ${t.status === 'TASK_STATUS_DONE' ? 'done' : ''}`,
    onclick: () => (location.hash = `#/task/${encodeURIComponent(t.id)}`),
  },
    h('td', {}, h('span', { class: 'lv-tag' }, label(LEVEL, lv))),
    // A real link: keyboard users can reach it, and it opens in a new tab.
    h('td', { class: 'mono' }, h('a', { href: `#/task/${encodeURIComponent(t.id)}` }, t.id)),
    h('td', {}, t.fraud_type || (t.brief ? '宣传任务' : '—')),
    h('td', { class: 'mono' }, j.division_code ?? '—', h('div', { class: 'sub' }, j.grid_id ?? '')),
    h('td', {}, label(ROLE, t.role)),
    h('td', {}, a.name || '—', a.id ? h('div', { class: 'sub mono' }, a.id) : null),
    h('td', { 'data-testid': 'row-status' }, label(STATUS, t.status)),
    h('td', {}, time(t.created_at_ms)),
    h('td', {}, time(t.due_at_ms)),
    countdownCell(t),
  );
  if (isOverdue(t)) tr.classList.add('overdue');
  return tr;
}

/** A cell the ticker keeps counting down (data-due, data-done). */
export function countdownCell(t, tag = 'td') {
  const c = countdown(t);
  return h(tag, {
    'data-countdown': '',
    'data-due': num(t.due_at_ms),
    'data-done': t.status === 'TASK_STATUS_DONE' ? '1' : '',
    class: c.overdue ? 'late' : '',
  }, c.text);
}

/** Refreshes every countdown on the page; app.js runs it each second. */
export function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-countdown]')) {
    const t = { due_at_ms: el.dataset.due, status: el.dataset.done ? 'TASK_STATUS_DONE' : '' };
    const c = countdown(t, now);
    if (el.textContent !== c.text) el.textContent = c.text;
    el.classList.toggle('late', c.overdue);
    el.closest('tr')?.classList.toggle('overdue', c.overdue);
  }
}

export const tableHead = () =>
  h('thead', {}, h('tr', {}, ['等级', '任务编号', '诈骗类型', '村(社区)/网格', '角色', '责任人', '状态', '派发时间', '截止时间', '时限'].map((c) => h('th', {}, c))));

/** The ListTasks request of the current filters (`overdue` is the HTTP side's extra field). */
function request() {
  const r = {};
  for (const k of ['level', 'status', 'role', 'created_day', 'jurisdiction']) if (filters[k]) r[k] = filters[k];
  if (filters.overdue) r.overdue = true;
  return r;
}

/** Whether a task from the feed belongs in the list as filtered. */
function matches(t) {
  if (filters.level && t.level !== filters.level) return false;
  if (filters.status && t.status !== filters.status) return false;
  if (filters.role && t.role !== filters.role) return false;
  if (filters.created_day && day(t.created_at_ms) !== filters.created_day) return false;
  if (filters.jurisdiction && !(t.jurisdiction?.division_code ?? '').startsWith(filters.jurisdiction)) return false;
  if (filters.overdue && !isOverdue(t)) return false;
  return true;
}

const byNewest = (a, b) => num(b.created_at_ms) - num(a.created_at_ms) || (a.id < b.id ? -1 : 1);

function filterBar(reload) {
  const bind = (el, key, prop = 'value') => {
    el[prop] = filters[key];
    el.addEventListener('change', () => {
      filters[key] = el[prop];
      reload();
    });
    return el;
  };
  return h('div', { class: 'filters' },
    h('label', {}, '等级 ', bind(select(LEVEL, { 'data-testid': 'filter-level' }, '全部'), 'level')),
    h('label', {}, '状态 ', bind(select(STATUS, { 'data-testid': 'filter-status' }, '全部'), 'status')),
    h('label', {}, '角色 ', bind(select(ROLE, { 'data-testid': 'filter-role' }, '全部'), 'role')),
    h('label', {}, '派发日期 ', bind(h('input', { type: 'date', 'data-testid': 'filter-day' }), 'created_day')),
    h('label', {}, '区划前缀 ', bind(h('input', { type: 'text', size: 12, inputmode: 'numeric', placeholder: '如 520102', 'data-testid': 'filter-jurisdiction' }), 'jurisdiction')),
    h('label', {}, bind(h('input', { type: 'checkbox', 'data-testid': 'filter-overdue' }), 'overdue', 'checked'), ' 仅看逾期'),
    h('button', {
      type: 'button', 'data-testid': 'filter-clear',
      onclick: () => {
        Object.assign(filters, { level: '', status: '', role: '', created_day: '', overdue: false, jurisdiction: '' });
        reload(true);
      },
    }, '清除筛选'),
  );
}

/** Shows the list in `root`; returns the cleanup run when leaving the view. */
export function show(root) {
  const rows = new Map(); // task id -> { task, tr }
  const tbody = h('tbody');
  const table = h('table', { class: 'tasks', 'data-testid': 'task-table', 'data-state': 'loading' }, tableHead(), tbody);
  const info = h('div', { class: 'muted', 'data-testid': 'task-count' }, '加载中…');
  let pending = []; // events that arrived while a load was in flight
  let loading = false;
  let generation = 0;

  const put = (t, flash) => {
    const old = rows.get(t.id);
    // The feed may repeat what the list already shows (it starts at the
    // head read before the list): keep the newer version only.
    if (old && num(t.version) <= num(old.task.version)) return;
    if (!matches(t)) {
      old?.tr.remove();
      rows.delete(t.id);
      return;
    }
    const tr = taskRow(t);
    if (old) old.tr.replaceWith(tr);
    else tbody.prepend(tr);
    rows.set(t.id, { task: t, tr });
    if (flash) {
      tr.classList.add('flash');
      setTimeout(() => tr.classList.remove('flash'), 2500);
    }
  };

  const onEvent = (ev) => {
    if (loading) pending.push(ev.task);
    else {
      put(ev.task, true);
      info.textContent = `共 ${rows.size} 条`;
    }
  };

  async function load(redraw = false) {
    const gen = ++generation;
    loading = true;
    table.dataset.state = 'loading';
    info.textContent = '加载中…';
    clearError();
    if (redraw) root.replaceChildren(...view());
    try {
      const { tasks, truncated } = await listAll(request(), MAX_ROWS);
      if (gen !== generation) return; // a newer filter change won
      rows.clear();
      tbody.replaceChildren();
      for (const t of tasks.sort(byNewest)) {
        const tr = taskRow(t);
        tbody.append(tr);
        rows.set(t.id, { task: t, tr });
      }
      for (const t of pending) put(t, true);
      info.textContent = `共 ${rows.size} 条` + (truncated ? `（仅显示前 ${tasks.length} 条，请用筛选缩小范围）` : '');
      table.dataset.state = 'loaded';
    } catch (e) {
      if (gen !== generation) return;
      table.dataset.state = 'error';
      info.textContent = '';
      showError(e);
    } finally {
      if (gen === generation) {
        loading = false;
        pending = [];
      }
    }
  }

  const reload = (redraw = false) => load(redraw);
  const view = () => [h('h2', {}, '任务列表'), filterBar(reload), info, h('div', { class: 'table-wrap' }, table)];
  root.replaceChildren(...view());
  const unsubscribe = live.subscribe(onEvent);
  load();
  return () => {
    generation++;
    unsubscribe();
  };
}
