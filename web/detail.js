// 任务详情: everything a task carries, its countdown, and the action bar.

import { call } from './api.js';
import * as live from './live.js';
import { actionBar } from './actions.js';
import { countdownCell } from './tasks.js';
import {
  h, label, num, time, yuan,
  LEVEL, LEVEL_CLASS, STATUS, ROLE, OUTCOME, REACHED, STOPPED_BY, PUBLICITY, EVENT_KIND, ESCALATION,
} from './fmt.js';
import { showError, clearError, showNotice } from './ui.js';

const dl = (pairs) =>
  h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v, attrs]) => [h('dt', {}, k), h('dd', attrs ?? {}, v)]));

// A graph reason reads "2 跳: 本人手机 139****5678 → 转账 ¥6,000.00 → 银行卡 …":
// draw its hops as a chain so the path is seen at a glance.
const GRAPH = /^(.*?\d+\s*跳[:：])\s*(.+→.+)$/s;

function reasons(t) {
  const list = t.reasons ?? [];
  const items = list.map((r) => {
    const m = GRAPH.exec(r.why ?? '');
    const body = m
      ? h('div', { class: 'path', 'data-testid': 'graph-path' }, h('span', {}, m[1]),
        m[2].split('→').map((hop, i) => [i ? h('span', { class: 'arrow' }, '→') : null, h('span', { class: 'hop' }, hop.trim())]))
      : h('div', {}, r.why ?? '');
    return h('li', { 'data-testid': 'reason' }, h('code', {}, r.rule_id ?? '—'), body,
      r.alert_key ? h('div', { class: 'sub mono' }, `预警 ${r.alert_key}`) : null);
  });
  const omitted = num(t.reasons_omitted);
  return h('section', {}, h('h3', {}, '命中规则（预警原因）'),
    items.length ? h('ul', { class: 'reasons' }, items) : h('p', { class: 'muted' }, '无'),
    omitted ? h('p', { class: 'muted' }, `另有 ${omitted} 条中间的命中记录未保留`) : null);
}

function history(t) {
  const rows = (t.history ?? []).map((e) =>
    h('tr', { 'data-testid': 'history-entry' },
      h('td', {}, time(e.at_ms)), h('td', {}, label(EVENT_KIND, e.kind)), h('td', {}, e.actor ?? ''), h('td', {}, e.detail ?? '')));
  const omitted = num(t.merges_omitted);
  return h('section', {}, h('h3', {}, '办理历史'),
    h('table', { class: 'history' }, h('thead', {}, h('tr', {}, ['时间', '事项', '办理人', '说明'].map((c) => h('th', {}, c)))), h('tbody', {}, rows)),
    omitted ? h('p', { class: 'muted' }, `另有 ${omitted} 次合并预警未逐条保留`) : null);
}

function outcome(t) {
  const o = t.outcome;
  if (!o) return null;
  return h('section', {}, h('h3', {}, '反馈结果'), dl([
    ['结果', label(OUTCOME, o.code), { 'data-testid': 'outcome-result' }],
    ['联系到', label(REACHED, o.reached)],
    o.connected && ['电话接通', '是'],
    o.not_connected_reason && ['未接通原因', o.not_connected_reason],
    o.stopped_by && ['劝阻方式', label(STOPPED_BY, o.stopped_by)],
    num(o.amount_lost_fen) > 0 && ['受骗金额', yuan(o.amount_lost_fen)],
    num(o.amount_saved_fen) > 0 && ['劝阻金额', yuan(o.amount_saved_fen)],
    o.fraud_type && ['核实诈骗类型', o.fraud_type],
    ['需继续跟进', o.follow_up_needed ? '是' : '否'],
    o.note && ['备注', o.note],
  ]));
}

function extras(t) {
  const fu = (t.follow_ups ?? []).map((r) =>
    h('li', {}, `第 ${r.round ?? 0} 轮：应于 ${time(r.due_at_ms)}，${num(r.done_at_ms) ? '已于 ' + time(r.done_at_ms) + ' 完成' : '未完成'}${r.note ? '（' + r.note + '）' : ''}`));
  const pub = (t.publicity ?? []).map((p) =>
    h('li', {}, `${time(p.at_ms)} ${label(PUBLICITY, p.method)} ${p.done ? '已完成' : '未完成'}${p.households ? '，' + p.households + ' 户' : ''}${p.note ? '（' + p.note + '）' : ''}`));
  const b = t.brief;
  return [
    fu.length ? h('section', {}, h('h3', {}, '回访'), h('ul', {}, fu)) : null,
    b ? h('section', {}, h('h3', {}, '宣传任务（重点区域）'), dl([['评估日', b.day ?? '—'], ['重点人群', b.group || '—'], ['依据', b.why ?? '']])) : null,
    h('section', {}, h('h3', {}, '宣传记录'), pub.length ? h('ul', {}, pub) : h('p', { class: 'muted' }, '未宣传')),
  ];
}

function facts(t) {
  const j = t.jurisdiction ?? {};
  const a = t.assignee ?? {};
  const s = t.subject ?? {};
  const tr = t.transfer;
  const alerts = (t.alert_keys ?? []).length + num(t.alert_keys_omitted);
  return h('section', {}, dl([
    ['任务编号', t.id],
    ['配对任务', t.pair_id || '—'],
    ['角色', label(ROLE, t.role)],
    ['诈骗类型', t.fraud_type || '—'],
    ['村(社区)代码', j.division_code ?? '—'],
    ['网格 / 警务区 / 派出所', `${j.grid_id || '—'} / ${j.police_area || '—'} / ${j.police_station || '—'}`],
    ['责任人', a.name ? `${a.name}（${a.id ?? ''}）` : '—'],
    ['预警对象', `${s.name ?? ''} ${s.phone ?? ''} ${s.address ?? ''}`.trim() || '—'],
    ['处置方式', t.method === 'visit' ? '见面/上门劝阻' : t.method === 'phone' ? '电话劝阻' : t.method || '—'],
    ['派发时间', time(t.created_at_ms)],
    ['截止时间', h('span', {}, time(t.due_at_ms), ' ', countdownCell(t, 'span'))],
    num(t.call_by_ms) > 0 && ['电话时限', time(t.call_by_ms)],
    num(t.visit_by_ms) > 0 && ['上门时限', time(t.visit_by_ms)],
    t.deadline_policy && ['时限依据', t.deadline_policy],
    ['逾期升级', label(ESCALATION, t.escalated ?? 'ESCALATION_NONE'), { 'data-testid': 'task-escalation' }],
    ['转办', tr ? `待审批：转往 ${tr.to_division_code ?? '—'}（${tr.requested_by ?? ''} 于 ${time(tr.requested_at_ms)}，原因：${tr.reason ?? ''}）` : '无待审批转办', { 'data-testid': 'task-transfer' }],
    ['串并案', t.series_id ? h('a', { href: `#/series/${encodeURIComponent(t.series_id)}`, 'data-testid': 'series-link' }, t.series_id) : '无'],
    ['合并预警', `${alerts} 条`],
    ['规则集版本', t.rule_set_version || '—'],
  ]));
}

/** Shows task `id` in `root`; returns the cleanup run when leaving the view. */
export function show(root, id) {
  const head = h('div', { class: 'task-head' });
  const body = h('div');
  const formEl = h('div', { class: 'form-area' });
  const contactEl = h('div');
  const bar = h('div');
  const ctx = { task: null, set, reload, formEl, contactEl };
  let alive = true;

  function set(t) {
    ctx.task = t;
    const lv = t.level ?? 'LEVEL_UNSPECIFIED';
    head.replaceChildren(
      h('span', { class: `lv-tag big ${LEVEL_CLASS[lv] ?? ''}` }, label(LEVEL, lv)),
      h('span', { class: 'status', 'data-testid': 'task-status', 'data-status': t.status ?? '' }, label(STATUS, t.status)),
      h('span', { class: 'muted', 'data-testid': 'task-version' }, `第 ${num(t.version)} 版`));
    bar.replaceChildren(actionBar(ctx));
    body.replaceChildren(facts(t), reasons(t), outcome(t) ?? '', ...extras(t).filter(Boolean), history(t));
  }

  async function reload() {
    try {
      const t = await call('GetTask', { task_id: id });
      if (alive) set(t);
    } catch (e) {
      if (!alive) return;
      showError(e);
      head.replaceChildren(h('span', { class: 'muted' }, '无法显示此任务'));
      bar.replaceChildren();
      body.replaceChildren();
    }
  }

  // A colleague's step, an escalation or a merged warning shows at once.
  const unsubscribe = live.subscribe((ev) => {
    const t = ev.task;
    if (t.id !== id || !ctx.task || num(t.version) <= num(ctx.task.version)) return;
    set(t);
    showNotice(`任务已更新：${label(EVENT_KIND, ev.kind)}`);
  });

  clearError();
  root.replaceChildren(
    h('p', {}, h('a', { href: '#/tasks' }, '← 返回任务列表')),
    h('h2', {}, `任务 ${id}`), head, bar, formEl, contactEl, body);
  head.append(h('span', { class: 'muted' }, '加载中…'));
  reload();
  return () => {
    alive = false;
    unsubscribe();
  };
}
