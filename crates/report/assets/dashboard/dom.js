// DOM helpers. Text always goes in through textContent / createTextNode, never innerHTML:
// account names and reasons come from logs and are chosen by attackers.

/** Element builder: h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** SVG element builder (same shape as h). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'style') {
      el.style.cssText = String(v); // CSSOM, allowed by the CSP (a style attribute is not)
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const nf = new Intl.NumberFormat('en-GB');
/** 1,234,567 */
export const num = (n) => (n === undefined || n === null ? '–' : nf.format(n));

/** `2017-06-24 01:02 UTC` from RFC 3339. */
export function time(ts) {
  if (!ts) return '–';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** `3 h 12 min` between two RFC 3339 times. */
export function span(from, to) {
  const secs = Math.max(0, (new Date(to) - new Date(from)) / 1000);
  const d = Math.floor(secs / 86400), hh = Math.floor((secs % 86400) / 3600), m = Math.floor((secs % 3600) / 60);
  if (d > 0) return hh > 0 && d < 10 ? `${d} day${d > 1 ? 's' : ''} ${hh} h` : `${d} day${d > 1 ? 's' : ''}`;
  if (hh > 0) return m > 0 ? `${hh} h ${m} min` : `${hh} h`;
  if (m > 0) return `${m} min`;
  return `${Math.round(secs)} s`;
}

export const kindWords = {
  brute_force: 'brute force',
  account_guessing: 'account guessing',
  password_spray: 'password spray',
  user_enumeration: 'user enumeration',
  credential_stuffing: 'credential stuffing',
};

/** A pill for a campaign kind. */
export const kindPill = (kind) => h('span', { class: `pill kind-${kind}` }, kindWords[kind] || kind);

/** Link to an account page (the name is URL-encoded; display is text). */
export const accountLink = (name) => h('a', { href: `#/account/${encodeURIComponent(name)}`, class: 'acct' }, name);
export const campaignLink = (id) => h('a', { href: `#/campaign/${encodeURIComponent(id)}`, class: 'mono' }, id);

/** A table: columns [{label, cell: row => node|string, class}], rows. */
export function table(columns, rows, { empty = 'Nothing to show.', limit = 500 } = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'muted' }, empty);
  const shown = rows.slice(0, limit);
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.class }, c.label)))),
      h('tbody', {}, shown.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.class }, c.cell(r))))))),
    rows.length > limit ? h('p', { class: 'muted' }, `Showing ${num(limit)} of ${num(rows.length)}.`) : null);
}

/** A key figure. */
export const figure = (value, label, cls = '') => h('div', { class: `fig ${cls}` }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, label));

export const section = (title, ...children) => h('section', { class: 'card' }, h('h2', {}, title), ...children);
