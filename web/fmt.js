// Labels, times and a tiny DOM helper shared by every view.
//
// The API speaks proto3 JSON (pbjson): enums are value names, 64-bit
// integers are strings, and default values are left out. Everything here
// therefore reads defensively (`?? ''`, `num()`), never assumes a field.

export const LEVEL = { LEVEL_HIGH: '高', LEVEL_MEDIUM: '中', LEVEL_LOW: '低' };
// CSS class per level: 高 red, 中 orange, 低 blue (see style.css).
export const LEVEL_CLASS = { LEVEL_HIGH: 'lv-high', LEVEL_MEDIUM: 'lv-medium', LEVEL_LOW: 'lv-low' };
export const STATUS = {
  TASK_STATUS_OPEN: '待签收',
  TASK_STATUS_ACKNOWLEDGED: '已签收',
  TASK_STATUS_IN_PROGRESS: '处置中',
  TASK_STATUS_DONE: '已办结',
};
export const ROLE = { ROLE_POLICE_OFFICER: '民警', ROLE_GRID_WORKER: '网格员' };
// Order matters: it is the order of the feedback form's choices.
export const OUTCOME = {
  OUTCOME_CODE_DISSUADED: '已劝阻',
  OUTCOME_CODE_NOT_FOUND_YET: '暂时找不到',
  OUTCOME_CODE_CANNOT_BE_FOUND: '确实找不到',
  OUTCOME_CODE_MISMATCH: '不符',
  OUTCOME_CODE_DUPLICATE: '重复预警',
  OUTCOME_CODE_DEFRAUDED: '已被骗',
};
export const REACHED = { REACHED_PERSON: '本人', REACHED_RELATIVE: '亲友', REACHED_NOBODY: '未联系上' };
export const STOPPED_BY = { STOPPED_BY_DISSUASION: '及时劝阻', STOPPED_BY_SELF_AWARE: '自主防范' };
export const PUBLICITY = {
  PUBLICITY_METHOD_DOOR: '上门',
  PUBLICITY_METHOD_PHONE: '电话',
  PUBLICITY_METHOD_GROUP_CHAT: '村(社区)群',
  PUBLICITY_METHOD_POSTER: '海报',
  PUBLICITY_METHOD_MEETING: '宣讲会',
};
export const EVENT_KIND = {
  TASK_EVENT_KIND_CREATED: '派发',
  TASK_EVENT_KIND_MERGED: '合并预警',
  TASK_EVENT_KIND_ACKNOWLEDGED: '签收',
  TASK_EVENT_KIND_OUTCOME: '反馈',
  TASK_EVENT_KIND_ESCALATED: '升级',
  TASK_EVENT_KIND_CALLED: '电话劝阻',
  TASK_EVENT_KIND_VISITED: '上门',
  TASK_EVENT_KIND_FOLLOW_UP_SCHEDULED: '安排回访',
  TASK_EVENT_KIND_FOLLOW_UP_DONE: '回访完成',
  TASK_EVENT_KIND_OVERDUE: '逾期',
  TASK_EVENT_KIND_RENOTIFIED: '再次提醒',
  TASK_EVENT_KIND_TRANSFER_REQUESTED: '申请转办',
  TASK_EVENT_KIND_TRANSFER_APPROVED: '转办通过',
  TASK_EVENT_KIND_TRANSFER_REFUSED: '转办驳回',
  TASK_EVENT_KIND_PUBLICIZED: '宣传',
};
export const ESCALATION = {
  ESCALATION_NONE: '未升级',
  ESCALATION_STATION: '已升级至派出所',
  ESCALATION_CENTRE: '已升级至县级反诈中心',
};

/** Label of an enum value, '—' when absent (pbjson omits enum 0). */
export const label = (map, v) => map[v] ?? (v ? v : '—');

/** int64/uint64 arrive as strings; absent means 0. */
export const num = (v) => (v === undefined || v === null || v === '' ? 0 : Number(v));

// Local days and times are the server's (config `utc_offset_hours`, China
// Standard Time by default), not the browser's: a dispatcher's "today" must
// be the same day the server uses for created_day and the daily list, even
// on a machine whose clock is set to UTC.
let offsetMs = 8 * 3600_000;
export function setUtcOffsetHours(h) {
  if (Number.isFinite(h)) offsetMs = h * 3600_000;
}
const shifted = (ms) => new Date(num(ms) + offsetMs).toISOString();
/** "YYYY-MM-DD HH:MM" local time; '—' for 0. */
export const time = (ms) => (num(ms) ? shifted(ms).slice(0, 16).replace('T', ' ') : '—');
/** "YYYY-MM-DD" local day of a unix-ms instant (default: now). */
export const day = (ms = Date.now()) => shifted(ms).slice(0, 10);
/** Local day `n` days before `d` ("YYYY-MM-DD"). */
export const dayBefore = (d, n) =>
  new Date(Date.parse(`${d}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
/** Local hour (0-23) of unix ms. */
export const hour = (ms) => Number(shifted(ms).slice(11, 13));

/** Yuan from fen, "¥1,234.56". */
export const yuan = (fen) =>
  '¥' + (num(fen) / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** Percent of a 0..1 rate; '—' when absent (nothing to divide). */
export const pct = (r) => (r === undefined || r === null ? '—' : (r * 100).toFixed(1) + '%');

const pad = (n) => String(n).padStart(2, '0');
/**
 * Countdown text to a deadline: "剩余 mm:ss" under an hour, "剩余 H小时M分"
 * above, "已逾期 N 分钟" past it. Done tasks have no countdown.
 */
export function countdown(t, now = Date.now()) {
  if (t.status === 'TASK_STATUS_DONE') return { text: '—', overdue: false };
  const due = num(t.due_at_ms);
  if (!due) return { text: '—', overdue: false };
  const left = due - now;
  if (left <= 0) return { text: `已逾期 ${Math.floor(-left / 60_000)} 分钟`, overdue: true };
  const s = Math.floor(left / 1000);
  if (s < 3600) return { text: `剩余 ${pad(Math.floor(s / 60))}:${pad(s % 60)}`, overdue: false };
  return { text: `剩余 ${Math.floor(s / 3600)}小时${pad(Math.floor((s % 3600) / 60))}分`, overdue: false };
}

/** True when a task is past its deadline and not done (the `overdue` filter). */
export const isOverdue = (t, now = Date.now()) =>
  t.status !== 'TASK_STATUS_DONE' && num(t.due_at_ms) > 0 && num(t.due_at_ms) < now;

/**
 * Builds an element. Children are nodes or strings; strings always become
 * text nodes, so server data (names, reasons) can never inject markup.
 */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** <select> from a label map; `empty` adds a first "any" option. */
export function select(map, attrs = {}, empty) {
  const opts = Object.entries(map).map(([v, l]) => h('option', { value: v }, l));
  if (empty !== undefined) opts.unshift(h('option', { value: '' }, empty));
  return h('select', attrs, opts);
}
