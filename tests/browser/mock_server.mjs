// A small static + mock-API server for developing the dashboard ONLY: it serves the assets
// straight from crates/report/assets/dashboard and answers the API in docs/dashboard-api.md
// with synthetic data (documentation address ranges, invented names), enforcing the same
// session cookie + X-CSRF-Token rules the real `serve` must. The real check runs
// dashboard.mjs against `portcullis serve`.
//
//   node mock_server.mjs [PORT]        (user: admin, password: $MOCK_PASSWORD or "demo-password")

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const assetsDir = path.resolve(here, '../../crates/report/assets/dashboard');
const port = Number(process.argv[2] || process.env.PORT || 8765);
const USER = 'admin';
const PASSWORD = process.env.MOCK_PASSWORD || 'demo-password';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

// ---- synthetic incident (deterministic) ----
let seed = 20170623;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const HOUR = 3600 * 1000;
const now = Date.parse('2017-06-24T06:00:00Z');
const first = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const last = ['smith', 'jones', 'taylor', 'brown', 'wilson', 'evans'];
const accountName = (i) => `${first[i % 10]}.${last[Math.floor(i / 10) % 6]}${Math.floor(i / 60)}@example.org`;
const targeted = Array.from({ length: 120 }, (_, i) => accountName(i * 7 + 1));
targeted.push('<img src=x onerror=alert(1)>'); // attacker-chosen name: must render as text
const sprayStart = now - 8 * HOUR;
const sources = [];
for (let i = 0; i < 60; i++) sources.push(`198.51.100.${i + 10}`);
for (let i = 0; i < 30; i++) sources.push(`2001:db8:${(rnd(4096)).toString(16)}:${(rnd(65536)).toString(16)}::/64`);
const campaigns = [
  {
    id: 'c1', kind: 'password_spray', first_seen: iso(now - 9 * 24 * HOUR), detected_at: iso(sprayStart + 40 * 60 * 1000), last_seen: iso(now - 10 * 60 * 1000),
    sources, accounts_targeted: 9017, attempts: 61234,
    summary: 'About one wrong password an hour against each of 9,017 accounts from rotating residential addresses.',
    accounts: targeted,
  },
  {
    id: 'c2', kind: 'brute_force', first_seen: iso(now - 30 * HOUR), detected_at: iso(now - 30 * HOUR + 150000), last_seen: iso(now - 28.5 * HOUR),
    sources: ['203.0.113.66'], accounts_targeted: 3, attempts: 4812, summary: '4,812 failures from one address against three mailboxes.',
  },
];
const campaignState = { c1: 'open', c2: 'closed' };
const compromised = Array.from({ length: 6 }, (_, k) => ({
  account: targeted[k * 9], at: iso(sprayStart + (k + 1) * 50 * 60 * 1000), source: sources[k * 5], campaign: 'c1',
  evidence: `successful IMAP login from ${sources[k * 5]}, never seen for this account, after 1 failure`,
}));
const atRisk = Array.from({ length: 14 }, (_, k) => ({ account: targeted[k * 5 + 2], since: iso(sprayStart + HOUR), reason: 'targeted by the spray', campaign: 'c1' }));
function timeline(from, to, spray = true) {
  const out = [];
  for (let t = Math.floor(from / HOUR) * HOUR; t < to; t += HOUR) {
    const h = new Date(t).getUTCHours();
    const base = (h >= 7 && h < 19 ? 1800 : 450) + rnd(200);
    let familiar = Math.floor(base * 0.03), unfamiliar = Math.floor(base * 0.005) + rnd(6);
    if (spray && t >= sprayStart - HOUR) unfamiliar += 6000 + rnd(1500);
    out.push({ start: iso(t), width_secs: 3600, attempts: base + unfamiliar, failures: familiar + unfamiliar, unfamiliar_failures: unfamiliar });
  }
  return out;
}
const state = { shields: { up: false, protocols: [], until: null }, blocks: [{ prefix: '203.0.113.66', at: iso(now - 29 * HOUR), until: iso(now + 6 * 24 * HOUR), reason: 'brute force c2', by: 'ops-oncall' }], protections: [] };
const audit = [{ at: iso(now - 29 * HOUR), actor: 'ops-oncall', action: { type: 'block', prefix: '203.0.113.66', at: iso(now - 29 * HOUR), until: iso(now + 6 * 24 * HOUR), reason: 'brute force c2' } }];

// ---- sessions ----
const sessions = new Map(); // id -> {user, csrf}
function session(req) {
  const m = /(?:^|;\s*)portcullis_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
  return m ? sessions.get(m[1]) : undefined;
}
const json = (res, code, body, headers = {}) => {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
};
async function body(req) {
  let data = '';
  for await (const chunk of req) { data += chunk; if (data.length > 65536) throw new Error('too large'); }
  return data ? JSON.parse(data) : {};
}

function applyAction(a, user) {
  const at = iso(Date.now());
  switch (a.type) {
    case 'block':
      if (!a.prefix || !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a.prefix)) return 'prefix: not an IP address or CIDR prefix';
      state.blocks = state.blocks.filter((b) => b.prefix !== a.prefix);
      state.blocks.push({ prefix: a.prefix, at, until: a.until || null, reason: a.reason || '', by: user });
      break;
    case 'unblock': state.blocks = state.blocks.filter((b) => b.prefix !== a.prefix); break;
    case 'protect':
      if (!a.account) return 'account: required';
      if (!['internal_only', 'must_reset', 'disabled'].includes(a.mode)) return 'mode: internal_only, must_reset or disabled';
      state.protections = state.protections.filter((p) => p.account !== a.account);
      state.protections.push({ account: a.account, mode: a.mode, at, until: a.until || null, by: user });
      break;
    case 'unprotect': state.protections = state.protections.filter((p) => p.account !== a.account); break;
    case 'shields_up': state.shields = { up: true, protocols: a.protocols || [], until: a.until || null, at }; break;
    case 'shields_down': state.shields = { up: false, protocols: [], until: null }; break;
    case 'reset_account': break;
    default: return `unknown action type ${JSON.stringify(a.type)}`;
  }
  const entry = { at, actor: user, action: { ...a, at } };
  audit.unshift(entry);
  return entry;
}

async function api(req, res, url) {
  const p = url.pathname;
  if (p === '/api/session' && req.method === 'GET') {
    const s = session(req);
    return json(res, 200, s ? { authenticated: true, user: s.user, csrf_token: s.csrf } : { authenticated: false });
  }
  if (p === '/api/login' && req.method === 'POST') {
    if (req.headers.origin && req.headers.origin !== `http://${req.headers.host}`) return json(res, 403, { error: 'cross-origin login refused' });
    const b = await body(req);
    if (b.username !== USER || b.password !== PASSWORD) return json(res, 401, { error: 'wrong user or password' });
    const id = crypto.randomBytes(24).toString('base64url');
    const s = { user: USER, csrf: crypto.randomBytes(24).toString('base64url') };
    sessions.set(id, s);
    return json(res, 200, { authenticated: true, user: s.user, csrf_token: s.csrf }, { 'Set-Cookie': `portcullis_session=${id}; HttpOnly; SameSite=Strict; Path=/` });
  }
  const s = session(req);
  if (!s) return json(res, 401, { error: 'login required' });
  if (req.method === 'POST') {
    if (req.headers['x-csrf-token'] !== s.csrf) return json(res, 403, { error: 'missing or wrong X-CSRF-Token' });
    if (p === '/api/logout') {
      for (const [k, v] of sessions) if (v === s) sessions.delete(k);
      return json(res, 200, { ok: true }, { 'Set-Cookie': 'portcullis_session=; Max-Age=0; Path=/' });
    }
    if (p === '/api/actions') {
      const out = applyAction(await body(req), s.user);
      return typeof out === 'string' ? json(res, 400, { error: out }) : json(res, 200, { ok: true, entry: out });
    }
    return json(res, 404, { error: 'no such endpoint' });
  }
  if (p === '/api/overview') {
    const hours = Math.min(24 * 90, Number(url.searchParams.get('hours')) || 48);
    const tl = timeline(now - hours * HOUR, now);
    const fails = tl.reduce((a, b) => a + b.failures, 0), total = tl.reduce((a, b) => a + b.attempts, 0);
    return json(res, 200, {
      now: iso(now), timeline: tl,
      verdicts: { allow: total - fails, tarpit: Math.floor(fails * 0.3), deny: Math.floor(fails * 0.6), internal_only: fails - Math.floor(fails * 0.3) - Math.floor(fails * 0.6) },
      shields: state.shields, open_campaigns: campaigns.filter((c) => campaignState[c.id] === 'open'),
      compromised_count: compromised.length, at_risk_count: atRisk.length,
    });
  }
  if (p === '/api/campaigns') {
    const st = url.searchParams.get('state') || 'all';
    return json(res, 200, { campaigns: campaigns.filter((c) => st === 'all' || campaignState[c.id] === st).map((c) => ({ ...c, state: campaignState[c.id] })) });
  }
  let m = /^\/api\/campaigns\/([^/]+)$/.exec(p);
  if (m) {
    const c = campaigns.find((x) => x.id === decodeURIComponent(m[1]));
    if (!c) return json(res, 404, { error: 'no such campaign' });
    const blocked = new Set(state.blocks.map((b) => b.prefix));
    return json(res, 200, {
      campaign: c, state: campaignState[c.id],
      timeline: timeline(Math.max(Date.parse(c.first_seen), now - 72 * HOUR), Date.parse(c.last_seen) + HOUR, c.id === 'c1'),
      sources: c.sources.map((src, i) => ({ source: src, attempts: 900 - i * 7, failures: 899 - i * 7, first_seen: c.first_seen, last_seen: c.last_seen, blocked: blocked.has(src) })),
      accounts: (c.accounts || []).map((a, i) => ({ account: a, attempts: 8 + (i % 5), last_attempt: c.last_seen, state: compromised.some((x) => x.account === a) ? 'compromised' : atRisk.some((x) => x.account === a) ? 'at_risk' : 'targeted' })),
      compromised: compromised.filter((x) => x.campaign === c.id), at_risk: atRisk.filter((x) => x.campaign === c.id),
      actions: audit.filter((e) => c.sources.includes(e.action.prefix) || (c.accounts || []).includes(e.action.account) || e.action.type.startsWith('shields')),
    });
  }
  m = /^\/api\/accounts\/([^/]+)$/.exec(p);
  if (m) {
    const name = decodeURIComponent(m[1]);
    const fam = [`192.0.2.${10 + (name.length % 50)}`, '2001:db8:cafe::/64'];
    const attempts = [];
    for (let k = 0; k < 30; k++) {
      const ts = now - k * 37 * 60 * 1000;
      const spray = ts >= sprayStart && k % 2 === 0 && targeted.includes(name);
      attempts.push({ ts: iso(ts), source: spray ? sources[(k * 3) % sources.length] : fam[k % 2], protocol: k % 3 ? 'imap' : 'smtp', outcome: spray ? 'bad_password' : (k % 7 === 3 ? 'bad_password' : 'success'), verdict: spray ? 'deny' : 'allow', familiar: !spray });
    }
    const prot = state.protections.find((x) => x.account === name);
    return json(res, 200, {
      account: name,
      protection: prot ? { mode: prot.mode, since: prot.at, until: prot.until, by: prot.by } : null,
      familiar_sources: fam.map((f, i) => ({ source: f, successes: 40 - i * 15, last_success: iso(now - (i + 1) * HOUR) })),
      recent_attempts: attempts,
      compromised: compromised.find((x) => x.account === name) || null,
      at_risk: atRisk.find((x) => x.account === name) || null,
      campaigns: campaigns.filter((c) => (c.accounts || []).includes(name)).map((c) => c.id),
    });
  }
  if (p === '/api/state') return json(res, 200, state);
  if (p === '/api/actions') return json(res, 200, { actions: audit.slice(0, Number(url.searchParams.get('limit')) || 200) });
  return json(res, 404, { error: 'no such endpoint' });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  try {
    if (url.pathname.startsWith('/api/')) return await api(req, res, url);
    const name = url.pathname === '/' ? 'index.html' : url.pathname.replace(/^\/assets\//, '');
    if (!/^[a-z0-9_.-]+$/i.test(name) || name.includes('..')) { res.writeHead(404); return res.end(); }
    const file = path.join(assetsDir, name);
    if (!fs.existsSync(file)) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(name)] || 'application/octet-stream', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    res.end(fs.readFileSync(file));
  } catch (e) {
    json(res, 400, { error: String(e.message || e) });
  }
});
server.listen(port, '127.0.0.1', () => console.log(`mock dashboard on http://127.0.0.1:${port}/ (user ${USER})`));
