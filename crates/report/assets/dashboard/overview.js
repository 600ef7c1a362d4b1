// Overview: attempts and failures over time (familiar / unfamiliar), the verdict mix, open
// campaigns; and the campaigns list page.

import * as api from './api.js';
import { h, num, time, span, figure, section, table, kindPill, campaignLink } from './dom.js';
import { stackedColumns, shareBar, normalizeBuckets, widthLabel, bucketWidth, TRAFFIC_LAYERS, VERDICT_COLOURS } from './charts.js';

export function campaignTable(list, empty) {
  return table([
    { label: 'Id', cell: (c) => campaignLink(c.id) },
    { label: 'Kind', cell: (c) => kindPill(c.kind) },
    { label: 'First attempt', cell: (c) => time(c.first_seen), class: 't' },
    { label: 'Detected', cell: (c) => h('span', {}, time(c.detected_at), h('div', { class: 'sub' }, `after ${span(c.first_seen, c.detected_at)}`)), class: 't' },
    { label: 'Last attempt', cell: (c) => time(c.last_seen), class: 't' },
    { label: 'Attempts', cell: (c) => num(c.attempts), class: 'n' },
    { label: 'Accounts', cell: (c) => num(c.accounts_targeted), class: 'n' },
    { label: 'Sources', cell: (c) => num((c.sources || []).length), class: 'n' },
    { label: 'Summary', cell: (c) => h('span', { class: 'why' }, c.summary || '') },
  ], list, { empty });
}

export async function overviewPage(main, params) {
  const hours = Number(params.get('hours')) || 48;
  const o = await api.overview(hours);
  const buckets = normalizeBuckets(o.timeline);
  const sum = (k) => buckets.reduce((a, b) => a + (b[k] || 0), 0);
  const shields = o.shields || {};
  const open = o.open_campaigns || [];
  const ranges = [24, 48, 168, 720].map((n) => h('a', { href: `#/?hours=${n}`, class: n === hours ? 'on' : '' }, n < 168 ? `${n} h` : `${n / 24} days`));
  const verdicts = Object.entries(o.verdicts || {}).map(([k, v]) => ({ label: k.replace('_', ' '), value: v, colour: VERDICT_COLOURS[k] || '#718096' }));
  return [
    h('header', { class: 'page-head' },
      h('h1', {}, 'Overview'),
      h('div', { class: 'ranges' }, 'Last ', ranges)),
    h('div', { class: 'figs' },
      figure(num(sum('attempts')), `login attempts, last ${hours} h`),
      figure(num(sum('failures')), 'failures'),
      figure(num(sum('unfamiliar_failures')), 'failures from unfamiliar sources', sum('unfamiliar_failures') > sum('familiar_failures') ? 'warn' : ''),
      figure(num(open.length), 'open campaigns', open.length ? 'warn' : 'good'),
      figure(num(o.compromised_count || 0), 'accounts compromised', o.compromised_count ? 'bad' : 'good'),
      figure(num(o.at_risk_count || 0), 'accounts at risk', o.at_risk_count ? 'warn' : ''),
      figure(shields.up ? 'UP' : 'down', shields.up ? `shields up${shields.until ? ` until ${time(shields.until)}` : ''}` : 'shields', shields.up ? 'bad' : '')),
    section('Attempts over time',
      stackedColumns(buckets, TRAFFIC_LAYERS, {
        yLabel: `attempts per ${widthLabel(bucketWidth(buckets))}`,
        markers: open.map((c) => ({ at: c.detected_at, label: `${c.id} detected` })),
      })),
    section('Verdicts', shareBar(verdicts, { title: 'Verdict mix' })),
    section(`Open campaigns (${open.length})`, campaignTable(open, 'No open campaign. Quiet.')),
  ];
}

export async function campaignsPage(main, params) {
  const state = params.get('state') || 'all';
  const r = await api.campaigns(state);
  const list = r.campaigns || [];
  return [
    h('header', { class: 'page-head' },
      h('h1', {}, 'Campaigns'),
      h('div', { class: 'ranges' }, ['open', 'all'].map((st) => h('a', { href: `#/campaigns?state=${st}`, class: st === state ? 'on' : '' }, st)))),
    section(`${num(list.length)} ${state === 'open' ? 'open ' : ''}campaigns`, campaignTable(list, 'No campaign.')),
  ];
}
