// The JSON API of the console: /api/session, /api/console/<Method>,
// /api/events (see live.js) and /api/daily.
//
// The token lives in sessionStorage, not localStorage: it is gone when the
// tab closes, which is what a shared duty-room PC needs.

const TOKEN_KEY = 'dualwarn.token';

/** An error answer of the API: HTTP status plus the gRPC code name. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Chinese lead-in per error code, shown before the server's own message.
const CODE_TEXT = {
  INVALID_ARGUMENT: '输入有误',
  UNAUTHENTICATED: '令牌无效或已失效',
  PERMISSION_DENIED: '无权操作',
  NOT_FOUND: '未找到（不存在或无权查看）',
  FAILED_PRECONDITION: '任务已被他人修改',
  RESOURCE_EXHAUSTED: '请求过于频繁，请稍后再试',
  UNAVAILABLE: '服务暂不可用，请稍后再试',
  NETWORK: '网络连接失败',
};
/** One line for the error box: the Chinese lead-in and the server's words. */
export const errorText = (e) =>
  e instanceof ApiError ? `${CODE_TEXT[e.code] ?? '出错'}：${e.message}` : `出错：${e?.message ?? e}`;

export const state = {
  devMode: false,
  // GET /api/session body once signed in.
  session: null,
  // Set by app.js: what to do when a call answers 401 (back to login).
  onUnauthorized: () => {},
};

export const getToken = () => sessionStorage.getItem(TOKEN_KEY) ?? '';
export const setToken = (t) => (t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY));

/** Headers of every call; dev mode sends no Authorization at all. */
export function authHeaders(extra = {}) {
  const t = getToken();
  return !state.devMode && t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

/** Turns a non-2xx response into an ApiError with the body's code and message. */
async function failure(res) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // A proxy's HTML error page, or nothing: fall back to the status line.
  }
  return new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText);
}

async function send(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'NETWORK', String(e.message ?? e));
  }
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 401 && state.session) state.onUnauthorized(err);
    throw err;
  }
  return res;
}

/**
 * GET /api/session, with the token when `token` is given. Resolves to the
 * session (dev_mode, actor, jurisdiction, identity, supervises) or throws
 * ApiError (401 for a bad or missing token).
 */
export async function fetchSession(token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await send('/api/session', { headers, cache: 'no-store' });
  return res.json();
}

/** POST /api/console/<method> with a request message; resolves to the response message. */
export async function call(method, body = {}) {
  const res = await send(`/api/console/${method}`, {
    method: 'POST',
    headers: authHeaders({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
  });
  return res.json();
}

/** GET a JSON resource of the API (e.g. /api/events/head). */
export async function getJson(path) {
  const res = await send(path, { headers: authHeaders(), cache: 'no-store' });
  return res.json();
}

/**
 * Downloads a file the API serves as an attachment. A plain <a href> cannot
 * carry the Authorization header, so fetch it, wrap it in a Blob and click
 * a temporary <a download>; the browser then saves it like any download.
 */
export async function download(path, fileName) {
  const res = await send(path, { headers: authHeaders(), cache: 'no-store' });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: revoking at once can cancel the save in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

/** Pages through ListTasks with `req`, up to `max` tasks. */
export async function listAll(req, max = 5000) {
  const tasks = [];
  let page_token = '';
  let more = false;
  do {
    const r = await call('ListTasks', { ...req, page_size: 1000, ...(page_token ? { page_token } : {}) });
    tasks.push(...(r.tasks ?? []));
    page_token = r.next_page_token ?? '';
    more = !!page_token;
  } while (more && tasks.length < max);
  return { tasks, truncated: more };
}
