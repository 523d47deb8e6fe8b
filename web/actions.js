// The steps of a task (处置步骤), each one small form, and the audited
// contact reveal. Every write names base_version = the version the user
// last saw; a 409 (FAILED_PRECONDITION) means someone else changed the
// task first, so we reload it and let the user decide again.

import { call, state } from './api.js';
import { h, select, num, OUTCOME, REACHED, STOPPED_BY, PUBLICITY } from './fmt.js';
import { showError, clearError, showNotice } from './ui.js';

const ACTOR_KEY = 'dualwarn.actor';

/**
 * The action bar of a task. `ctx` = { task, set(task), reload(), formEl, contactEl }.
 * Only the steps that fit the task's state are offered; the server checks
 * again (and has the last word on who may do what).
 */
export function actionBar(ctx) {
  const t = ctx.task;
  const done = t.status === 'TASK_STATUS_DONE';
  const publicityTask = !!t.brief;
  const centre = state.session?.identity === 'centre';
  const btn = (id, text, onclick) => h('button', { type: 'button', 'data-testid': `action-${id}`, onclick }, text);
  const open = (form) => () => {
    clearError();
    ctx.formEl.replaceChildren(form(ctx));
    ctx.formEl.querySelector('input,select,textarea')?.focus();
  };
  const actor = h('input', {
    type: 'text', size: 10, maxlength: 64, placeholder: '可不填', 'data-testid': 'actor',
    value: sessionStorage.getItem(ACTOR_KEY) ?? '',
    onchange: (e) => sessionStorage.setItem(ACTOR_KEY, e.target.value.trim()),
  });
  return h('div', { class: 'actions' },
    h('label', { title: '记入办理历史；不填则记为本控制台' }, '办理人 ', actor),
    t.status === 'TASK_STATUS_OPEN' && btn('ack', '签收', (e) => {
      e.target.disabled = true;
      submit(ctx, 'Acknowledge', {}, '已签收').finally(() => (e.target.disabled = false));
    }),
    !done && !publicityTask && btn('call', '电话结果', open(callForm)),
    !done && !publicityTask && btn('visit', '上门', open(visitForm)),
    !done && !publicityTask && btn('outcome', '反馈', open(outcomeForm)),
    !done && !publicityTask && !t.transfer && btn('transfer', '转办', open(transferForm)),
    t.transfer && centre && btn('decide', '审批转办', open(decideForm)),
    done && !publicityTask && btn('followup', '回访', open(followUpForm)),
    btn('publicity', publicityTask ? '宣传办理' : '双宣传', open(publicityForm)),
    !publicityTask && btn('reveal', '查看联系方式', open(revealForm)),
  );
}

/** Sends one write; on success shows the task as it now stands. */
async function submit(ctx, method, fields, doneText) {
  const t = ctx.task;
  const body = {
    task_id: t.id,
    actor: sessionStorage.getItem(ACTOR_KEY) ?? '',
    // uint64 in proto3 JSON is a string.
    base_version: String(num(t.version)),
    ...fields,
  };
  clearError();
  try {
    const res = await call(method, body);
    // DecideTransfer answers both tasks of the pair.
    const mine = res.tasks ? res.tasks.find((x) => x.id === t.id) : res;
    ctx.formEl.replaceChildren();
    if (mine) ctx.set(mine);
    else await ctx.reload();
    showNotice(doneText);
  } catch (e) {
    if (e.code === 'FAILED_PRECONDITION' || e.status === 409) {
      showError(`任务已被他人修改（您看到的是第 ${num(t.version)} 版），已重新加载，请核对后再操作。${e.message ? '（' + e.message + '）' : ''}`);
      ctx.formEl.replaceChildren();
      await ctx.reload();
      return;
    }
    showError(e);
  }
}

/** A form that calls `onsubmit(formData)`; submit button gets data-testid `<id>-submit`. */
function form(id, title, fields, onsubmit, submitText = '提交') {
  const f = h('form', { class: 'step-form', 'data-testid': `${id}-form` },
    h('h3', {}, title), ...fields,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', 'data-testid': `${id}-submit` }, submitText),
      h('button', { type: 'button', onclick: () => f.remove() }, '取消')));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    // One click, one write: a double click must not send the step twice.
    const b = f.querySelector('[type=submit]');
    b.disabled = true;
    try {
      await onsubmit(new FormData(f), f);
    } finally {
      b.disabled = false;
    }
  });
  return f;
}
const row = (text, control) => h('label', { class: 'row' }, h('span', {}, text), control);
const yuanToFen = (v) => String(Math.round(parseFloat(v || '0') * 100) || 0);

function callForm(ctx) {
  const reason = h('input', { name: 'reason', list: 'call-reasons', maxlength: 256, 'data-testid': 'call-reason' });
  const connected = h('select', { name: 'connected', 'data-testid': 'call-connected' },
    h('option', { value: 'yes' }, '已接通'), h('option', { value: 'no' }, '未接通'));
  const reasonRow = row('未接通原因', reason);
  reasonRow.hidden = true;
  connected.addEventListener('change', () => (reasonRow.hidden = connected.value === 'yes'));
  return form('call', '电话劝阻结果', [
    row('是否接通', connected), reasonRow,
    h('datalist', { id: 'call-reasons' }, ['关机', '无人接听', '拒接', '空号', '停机', '已拉黑号码'].map((v) => h('option', { value: v }))),
  ], (d) => {
    const ok = d.get('connected') === 'yes';
    if (!ok && !d.get('reason').trim()) return showError('未接通时请填写原因');
    return submit(ctx, 'RecordCall', { connected: ok, reason: ok ? '' : d.get('reason').trim() }, '已记录电话结果');
  });
}

function visitForm(ctx) {
  return form('visit', '上门劝阻', [
    row('是否见到本人', h('select', { name: 'met', 'data-testid': 'visit-met' },
      h('option', { value: 'yes' }, '见到'), h('option', { value: 'no' }, '未见到'))),
    row('情况说明', h('input', { name: 'note', maxlength: 2000, 'data-testid': 'visit-note' })),
  ], (d) => submit(ctx, 'RecordVisit', { met: d.get('met') === 'yes', note: d.get('note').trim() }, '已记录上门'));
}

function outcomeForm(ctx) {
  const code = select(OUTCOME, { name: 'code', required: true, 'data-testid': 'outcome-code' }, '请选择');
  const lost = row('受骗金额（元）', h('input', { name: 'lost', type: 'number', min: '0.01', step: '0.01', 'data-testid': 'outcome-amount-lost' }));
  const stopped = row('劝阻方式', select(STOPPED_BY, { name: 'stopped_by', 'data-testid': 'outcome-stopped-by' }, '未说明'));
  const sync = () => {
    lost.hidden = code.value !== 'OUTCOME_CODE_DEFRAUDED';
    stopped.hidden = code.value !== 'OUTCOME_CODE_DISSUADED';
  };
  code.addEventListener('change', sync);
  sync();
  return form('outcome', '反馈结果', [
    row('反馈结果', code),
    row('联系到', select(REACHED, { name: 'reached', 'data-testid': 'outcome-reached' }, '未说明')),
    stopped, lost,
    row('劝阻金额（元）', h('input', { name: 'saved', type: 'number', min: '0', step: '0.01', 'data-testid': 'outcome-amount-saved' })),
    row('需继续跟进', h('input', { name: 'follow', type: 'checkbox', 'data-testid': 'outcome-follow-up' })),
    row('备注', h('input', { name: 'note', maxlength: 2000, 'data-testid': 'outcome-note' })),
  ], (d) => {
    const c = d.get('code');
    if (!c) return showError('请选择反馈结果');
    if (c === 'OUTCOME_CODE_DEFRAUDED' && !(parseFloat(d.get('lost')) > 0)) return showError('已被骗须填写受骗金额');
    const o = { code: c };
    if (d.get('reached')) o.reached = d.get('reached');
    if (c === 'OUTCOME_CODE_DEFRAUDED') {
      o.defrauded = 'DEFRAUDED_YES';
      o.amount_lost_fen = yuanToFen(d.get('lost'));
    }
    if (c === 'OUTCOME_CODE_DISSUADED') {
      o.defrauded = 'DEFRAUDED_NO';
      if (d.get('stopped_by')) o.stopped_by = d.get('stopped_by');
    }
    if (parseFloat(d.get('saved')) > 0) o.amount_saved_fen = yuanToFen(d.get('saved'));
    if (d.get('follow')) o.follow_up_needed = true;
    if (d.get('note').trim()) o.note = d.get('note').trim();
    return submit(ctx, 'ReportOutcome', { outcome: o }, `已反馈：${OUTCOME[c]}`);
  });
}

function transferForm(ctx) {
  return form('transfer', '转办（对象不在本辖区）', [
    row('现所在村(社区)代码', h('input', { name: 'to', required: true, pattern: '\\d{12}', maxlength: 12, placeholder: '12 位区划代码', 'data-testid': 'transfer-to' })),
    row('原因', h('input', { name: 'reason', required: true, maxlength: 256, placeholder: '如 已搬家、外出务工', 'data-testid': 'transfer-reason' })),
    h('p', { class: 'muted' }, '转办须经上级中心审批；时限不重新计算。'),
  ], (d) => submit(ctx, 'RequestTransfer', { to_division_code: d.get('to').trim(), reason: d.get('reason').trim() }, '已申请转办'));
}

function decideForm(ctx) {
  const tr = ctx.task.transfer ?? {};
  const f = form('decide', '审批转办', [
    h('p', {}, `转往 ${tr.to_division_code ?? '—'}，申请人 ${tr.requested_by ?? '—'}，原因：${tr.reason ?? '—'}`),
    row('审批意见', h('input', { name: 'note', maxlength: 2000, 'data-testid': 'decide-note' })),
    row('结论', h('select', { name: 'approve', 'data-testid': 'decide-approve' },
      h('option', { value: 'yes' }, '同意转办'), h('option', { value: 'no' }, '不同意'))),
  ], (d) => {
    const approve = d.get('approve') === 'yes';
    return submit(ctx, 'DecideTransfer', { approve, note: d.get('note').trim() }, approve ? '已同意转办' : '已驳回转办');
  });
  return f;
}

function followUpForm(ctx) {
  const open = (ctx.task.follow_ups ?? []).some((r) => !num(r.done_at_ms));
  return form('followup', open ? '回访完成' : '安排回访', [
    open ? null : row('几天后回访', h('input', { name: 'days', type: 'number', min: '1', max: '90', value: '3', 'data-testid': 'followup-days' })),
    row('备注', h('input', { name: 'note', maxlength: 2000, 'data-testid': 'followup-note' })),
  ], (d) => {
    // 0 reports the open round done; a time schedules a new round.
    const due = open ? 0 : Date.now() + Number(d.get('days')) * 86_400_000;
    return submit(ctx, 'FollowUp', { due_at_ms: String(due), note: d.get('note').trim() }, open ? '回访已完成' : '已安排回访');
  });
}

function publicityForm(ctx) {
  const brief = !!ctx.task.brief;
  return form('publicity', brief ? '宣传任务办理' : '双宣传', [
    row('方式', select(PUBLICITY, { name: 'method', 'data-testid': 'publicity-method' })),
    row('已完成', h('input', { name: 'done', type: 'checkbox', checked: true, 'data-testid': 'publicity-done' })),
    brief ? row('覆盖户数', h('input', { name: 'households', type: 'number', min: '0', 'data-testid': 'publicity-households' })) : null,
    row('备注', h('input', { name: 'note', maxlength: 2000, 'data-testid': 'publicity-note' })),
  ], (d) => {
    const b = { method: d.get('method'), done: !!d.get('done'), note: d.get('note').trim() };
    if (brief && Number(d.get('households')) > 0) b.households = Number(d.get('households'));
    return submit(ctx, 'RecordPublicity', b, '已记录宣传');
  });
}

function revealForm(ctx) {
  return form('reveal', '查看联系方式', [
    h('p', { class: 'warn' }, '此操作将记入审计日志（查看人、时间、任务与事由）。'),
    row('查看事由', h('input', { name: 'reason', required: true, minlength: 2, maxlength: 200, placeholder: '如 上门前核实', 'data-testid': 'reveal-reason' })),
  ], async (d, f) => {
    clearError();
    try {
      const c = await call('RevealContact', { task_id: ctx.task.id, reason: d.get('reason').trim() });
      f.remove();
      // Shown only on this page, never stored: leaving the page forgets it.
      ctx.contactEl.replaceChildren(h('div', { class: 'contact', 'data-testid': 'reveal-result' },
        h('div', {}, '电话：', h('b', { 'data-testid': 'reveal-phone' }, c.phone ?? '—')),
        h('div', {}, '姓名：', h('b', {}, c.name ?? '—')),
        h('div', {}, '住址：', h('b', {}, c.address ?? '—')),
        h('div', { class: 'muted' }, `区划 ${c.division_code ?? '—'}；审计记录 #${num(c.audit_seq)}`)));
    } catch (e) {
      showError(e);
    }
  }, '确认查看');
}
