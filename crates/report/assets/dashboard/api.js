// The dashboard's only way to the server: same-origin fetch with the session cookie, JSON in
// and out, and the CSRF token in an X-CSRF-Token header on every state-changing request.
// The token comes from <meta name="csrf-token"> when the server filled it in, otherwise from
// GET /api/session. See docs/dashboard-api.md.

let csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || '';
let session = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    if (!csrfToken && path !== '/api/login') await loadSession();
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text.slice(0, 200) };
    }
  }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `${res.status} ${res.statusText}`);
  }
  return data;
}

/** The current session ({authenticated, user, csrf_token}), or null when not logged in. */
export async function loadSession() {
  const s = await call('GET', '/api/session');
  session = s && s.authenticated ? s : null;
  if (session && session.csrf_token) csrfToken = session.csrf_token;
  return session;
}

export async function login(username, password) {
  session = await call('POST', '/api/login', { username, password });
  if (session && session.csrf_token) csrfToken = session.csrf_token;
  return session;
}

export async function logout() {
  await call('POST', '/api/logout', {});
  session = null;
  csrfToken = '';
}

export const currentSession = () => session;

const q = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.set(k, v);
  const t = u.toString();
  return t ? `?${t}` : '';
};

export const overview = (hours = 48) => call('GET', `/api/overview${q({ hours })}`);
export const campaigns = (state = 'all') => call('GET', `/api/campaigns${q({ state })}`);
export const campaign = (id) => call('GET', `/api/campaigns/${encodeURIComponent(id)}`);
export const account = (name) => call('GET', `/api/accounts/${encodeURIComponent(name)}`);
export const state = () => call('GET', '/api/state');
export const actions = (limit = 200) => call('GET', `/api/actions${q({ limit })}`);
/** Applies an admin action (the engine's AdminAction JSON without `at`). */
export const act = (action) => call('POST', '/api/actions', action);
