// The portcullis dashboard: a hash-routed single page (#/, #/campaigns, #/campaign/ID,
// #/account/NAME, #/actions) on the JSON API in docs/dashboard-api.md. No framework, no build
// step, no third-party code; served from the binary.

import * as api from './api.js';
import { h, mount } from './dom.js';
import { overviewPage, campaignsPage } from './overview.js';
import { campaignPage } from './campaign.js';
import { accountPage } from './account.js';
import { actionsPage } from './actions.js';

const main = document.getElementById('main');

const routes = [
  [/^\/?$/, 'overview', overviewPage],
  [/^\/campaigns$/, 'campaigns', campaignsPage],
  [/^\/campaign\/(.+)$/, 'campaigns', campaignPage],
  [/^\/account\/(.+)$/, null, accountPage],
  [/^\/actions$/, 'actions', actionsPage],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path, params: new URLSearchParams(query) };
}

let renderSeq = 0;
let lastPath = null;

async function render() {
  const seq = ++renderSeq;
  const { path, params } = parseHash();
  const route = routes.find(([re]) => re.test(path));
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('on', !!route && a.dataset.route === route[1]);
  }
  if (!route) {
    mount(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the overview')));
    return;
  }
  const [re, , page] = route;
  const m = path.match(re);
  const arg = m[1] !== undefined ? decodeURIComponent(m[1]) : undefined;
  main.setAttribute('aria-busy', 'true');
  try {
    const nodes = await page(main, params, arg, render);
    if (seq !== renderSeq) return; // a newer navigation won
    mount(main, nodes);
    if (path !== lastPath) window.scrollTo(0, 0); // new page: start at the top
    lastPath = path;
    document.title = `${(main.querySelector('h1')?.textContent || 'portcullis').slice(0, 80)} · portcullis`;
    refreshShields();
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e.status === 401) {
      showLogin();
      return;
    }
    mount(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'alert' }, e.message || String(e)),
      h('p', {}, h('button', { type: 'button', onclick: render }, 'Try again')));
  } finally {
    main.removeAttribute('aria-busy');
  }
}

async function refreshShields() {
  const badge = document.getElementById('shields-badge');
  try {
    const st = await api.state();
    const up = !!(st.shields && st.shields.up);
    badge.textContent = up ? 'SHIELDS UP' : 'shields down';
    badge.className = `badge ${up ? 'up' : ''}`;
  } catch {
    badge.textContent = 'shields: ?';
  }
}

function showSession(s) {
  document.getElementById('who').textContent = s ? `signed in as ${s.user}` : '';
  document.getElementById('logout').hidden = !s;
}

function showLogin(message) {
  showSession(null);
  const form = h('form', { class: 'login card', id: 'login-form' },
    h('h1', {}, 'Sign in'),
    message ? h('p', { class: 'alert' }, message) : null,
    h('label', {}, 'User', h('input', { name: 'username', autocomplete: 'username', required: true })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const s = await api.login(String(f.get('username')), String(f.get('password')));
      showSession(s);
      render();
    } catch (e) {
      showLogin(e.status === 401 ? 'Wrong user or password.' : e.message);
    }
  });
  mount(main, form);
  form.querySelector('input').focus();
}

document.getElementById('account-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = document.getElementById('account-q').value.trim();
  if (q) location.hash = `#/account/${encodeURIComponent(q)}`;
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } finally {
    showLogin('Signed out.');
  }
});

window.addEventListener('hashchange', render);

(async () => {
  try {
    const s = await api.loadSession();
    if (!s) {
      showLogin();
      return;
    }
    showSession(s);
    render();
  } catch (e) {
    mount(main, h('h1', {}, 'Cannot reach the server'), h('p', { class: 'alert' }, e.message || String(e)));
  }
})();
