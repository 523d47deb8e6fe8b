// 串并案: the tasks of a linked case series within the jurisdiction, and
// for every other county only a count (the server never sends their tasks).

import { call } from './api.js';
import { h, num } from './fmt.js';
import { taskRow, tableHead } from './tasks.js';
import { showError, clearError } from './ui.js';

const SERIES_ID = /^S-[0-9a-f]{16}$/;

/** Shows the series view in `root`, for `id` when given; returns its cleanup. */
export function show(root, id = '') {
  const input = h('input', { type: 'text', size: 22, value: id, placeholder: 'S- 加 16 位十六进制', 'data-testid': 'series-id' });
  const out = h('div', { 'data-testid': 'series-result' });
  const f = h('form', { class: 'filters' }, h('label', {}, '串并案编号 ', input), h('button', { type: 'submit', 'data-testid': 'series-submit' }, '查询'));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim().toLowerCase().replace(/^s-/, 'S-');
    // The hash carries the id, so the result can be bookmarked and sent on.
    location.hash = `#/series/${encodeURIComponent(v)}`;
  });
  root.replaceChildren(h('h2', {}, '串并案'), f, out);
  clearError();
  let alive = true;
  if (id) load(id);

  async function load(sid) {
    if (!SERIES_ID.test(sid)) {
      showError('串并案编号格式应为 S- 加 16 位小写十六进制数字');
      return;
    }
    out.replaceChildren(h('p', { class: 'muted' }, '查询中…'));
    try {
      const r = await call('ListSeries', { series_id: sid });
      if (!alive) return;
      const tasks = r.tasks ?? [];
      const elsewhere = r.elsewhere ?? [];
      const total = elsewhere.reduce((n, e) => n + num(e.tasks), 0);
      out.replaceChildren(...[
        r.series_id && r.series_id !== sid
          ? h('p', { class: 'warn', 'data-testid': 'series-merged' }, `${sid} 已并入 ${r.series_id}`)
          : null,
        h('h3', {}, `本辖区任务 ${tasks.length} 条`),
        tasks.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'tasks', 'data-testid': 'series-tasks' }, tableHead(), h('tbody', {}, tasks.map(taskRow))))
          : h('p', { class: 'muted' }, '本辖区无此串并案任务'),
        h('h3', {}, `其他辖区 ${total} 条（仅计数）`),
        elsewhere.length
          ? h('table', { class: 'small', 'data-testid': 'series-elsewhere' },
            h('thead', {}, h('tr', {}, h('th', {}, '区县代码'), h('th', {}, '任务数'))),
            h('tbody', {}, elsewhere.map((e) => h('tr', {}, h('td', { class: 'mono' }, e.county ?? '—'), h('td', {}, num(e.tasks))))))
          : h('p', { class: 'muted' }, '无'),
      ].filter(Boolean));
    } catch (e) {
      if (!alive) return;
      out.replaceChildren();
      showError(e);
    }
  }
  return () => (alive = false);
}
