// 任务清单下载: the day's task list as a workbook (or CSV), from /api/daily.

import { download } from './api.js';
import { h, day } from './fmt.js';
import { showError, clearError, showNotice } from './ui.js';

export function show(root) {
  // "Today" is the server's local day (fmt.js), the day the list is cut by.
  const dayIn = h('input', { type: 'date', value: day(), required: true, 'data-testid': 'daily-day' });
  const jur = h('input', { type: 'text', size: 12, inputmode: 'numeric', placeholder: '不填为本辖区全部', 'data-testid': 'daily-jurisdiction' });
  const fmt = h('select', { 'data-testid': 'daily-format' },
    h('option', { value: 'xlsx' }, 'Excel (xlsx)'), h('option', { value: 'csv' }, 'CSV'));
  const btn = h('button', { type: 'submit', 'data-testid': 'daily-download' }, '下载任务清单');
  const f = h('form', { class: 'filters' },
    h('label', {}, '日期 ', dayIn), h('label', {}, '区划前缀 ', jur), h('label', {}, '格式 ', fmt), btn);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError();
    const d = dayIn.value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return showError('请选择日期');
    const q = new URLSearchParams({ day: d, format: fmt.value });
    if (jur.value.trim()) q.set('jurisdiction', jur.value.trim());
    btn.disabled = true;
    btn.textContent = '正在生成…';
    try {
      const size = await download(`/api/daily?${q}`, `任务清单-${d}.${fmt.value}`);
      showNotice(`已下载 任务清单-${d}.${fmt.value}（${size} 字节）`);
    } catch (err) {
      showError(err);
    } finally {
      btn.disabled = false;
      btn.textContent = '下载任务清单';
    }
  });
  root.replaceChildren(
    h('h2', {}, '任务清单下载'), f,
    h('p', { class: 'muted' }, '清单含当日派发的任务：任务清单、汇总、逾期清单、宣传任务四张表；CSV 仅含任务清单。'));
  clearError();
  return () => {};
}
