// Campaign page: timeline from the first probe, attempts over time, sources, accounts targeted,
// compromised accounts, actions taken; block / protect / shields up from here.

import * as api from './api.js';
import { h, num, time, span, figure, section, table, kindPill, accountLink } from './dom.js';
import { stackedColumns, normalizeBuckets, widthLabel, bucketWidth, TRAFFIC_LAYERS } from './charts.js';
import { runAction, actions } from './confirm.js';
import { actionsTable } from './actions.js';

export async function campaignPage(main, params, id, rerender) {
  const r = await api.campaign(id);
  const c = r.campaign;
  const sources = r.sources || [];
  const compromised = r.compromised || [];
  const unblocked = sources.filter((x) => !x.blocked);
  const geo = sources.some((x) => x.asn || x.country);
  const per = widthLabel(bucketWidth(r.timeline) || 3600);
  const block = (src) => runAction(
    `Block ${src}`,
    `Deny every login attempt from ${src} for 24 hours. Users behind that address (it may be a shared or residential network) will be refused too.`,
    actions.block(src, `campaign ${c.id} (${c.kind})`, 24), rerender);
  const protect = (acct) => runAction(
    `Protect ${acct}`,
    `Allow ${acct} to log in only from trusted networks and sources it has used before, until an admin lifts it. Use this for a compromised account until its password is reset.`,
    actions.protect(acct, 'internal_only'), rerender);
  const shieldsUp = () => runAction(
    'Shields up',
    'For the next 12 hours, allow remote logins for every account only from trusted networks and sources each account has used before. Users travelling or on new devices will be refused.',
    actions.shieldsUp([], 12), rerender);
  return [
    h('header', { class: 'page-head' },
      h('div', {},
        h('div', { class: 'eyebrow' }, `campaign · ${r.state || 'open'}`),
        h('h1', {}, `Campaign ${c.id} `, kindPill(c.kind)),
        c.summary ? h('p', { class: 'lead' }, c.summary) : null),
      h('div', { class: 'page-actions' },
        h('button', { class: 'danger', type: 'button', onclick: shieldsUp, 'data-action': 'shields-up' }, 'Shields up'))),
    h('div', { class: 'figs' },
      figure(time(c.first_seen), 'first attempt (earliest probe linked)'),
      figure(time(c.detected_at), `detected, ${span(c.first_seen, c.detected_at)} later`),
      figure(time(c.last_seen), 'last attempt'),
      figure(num(c.attempts), 'attempts'),
      figure(num(c.accounts_targeted), 'accounts targeted'),
      figure(num(sources.length), 'sources'),
      figure(num(compromised.length), 'accounts compromised', compromised.length ? 'bad' : 'good')),
    section(`Attempts per ${per}, from the first probe`,
      stackedColumns(normalizeBuckets(r.timeline), TRAFFIC_LAYERS, {
        yLabel: `attempts per ${per}`,
        markers: [{ at: c.detected_at, label: 'detected' }],
        title: `Attempts per ${per} in campaign ${c.id}`,
      })),
    section(`Sources (${num(sources.length)})`,
      unblocked.length ? h('p', { class: 'muted' }, `${num(unblocked.length)} not blocked. Block the busiest; many spray sources are innocent residential addresses, so blocks expire.`) : null,
      table([
        { label: 'Source', cell: (x) => h('span', { class: 'mono' }, x.source) },
        ...(geo ? [
          { label: 'AS', cell: (x) => (x.asn ? `AS${x.asn} ${x.as_org || ''}` : '–') },
          { label: 'Country', cell: (x) => x.country || '–' },
        ] : []),
        { label: 'Attempts', cell: (x) => num(x.attempts), class: 'n' },
        { label: 'Failures', cell: (x) => num(x.failures), class: 'n' },
        { label: 'First seen', cell: (x) => time(x.first_seen), class: 't' },
        { label: 'Last seen', cell: (x) => time(x.last_seen), class: 't' },
        { label: '', cell: (x) => (x.blocked ? h('span', { class: 'pill ok' }, 'blocked') : h('button', { type: 'button', class: 'small', onclick: () => block(x.source), 'data-action': 'block' }, 'Block')) },
      ], sources, { empty: 'No source recorded.', limit: 300 })),
    section(`Compromised accounts (${num(compromised.length)})`,
      table([
        { label: 'Account', cell: (x) => accountLink(x.account) },
        { label: 'When', cell: (x) => time(x.at), class: 't' },
        { label: 'From', cell: (x) => h('span', { class: 'mono' }, x.source || '–') },
        { label: 'Evidence', cell: (x) => h('span', { class: 'why' }, x.evidence) },
        { label: '', cell: (x) => h('button', { type: 'button', class: 'small', onclick: () => protect(x.account), 'data-action': 'protect' }, 'Protect') },
      ], compromised, { empty: 'No account fell in this campaign.' })),
    section(`Accounts targeted (${num(Math.max(c.accounts_targeted || 0, (r.accounts || []).length))})`,
      table([
        { label: 'Account', cell: (x) => accountLink(x.account) },
        { label: 'Attempts', cell: (x) => num(x.attempts), class: 'n' },
        { label: 'Last attempt', cell: (x) => time(x.last_attempt), class: 't' },
        { label: 'State', cell: (x) => h('span', { class: `pill state-${x.state}` }, x.state.replace('_', ' ')) },
      ], r.accounts || [], { empty: 'The server did not list the accounts.', limit: 300 })),
    section('Actions taken', actionsTable(r.actions || [])),
  ];
}
