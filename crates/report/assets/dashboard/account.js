// Account page: protection state, recent attempts (familiar / unfamiliar), familiar sources.

import * as api from './api.js';
import { h, num, time, figure, section, table, campaignLink } from './dom.js';
import { stackedColumns, widthLabel, TRAFFIC_LAYERS } from './charts.js';
import { runAction, actions } from './confirm.js';

/**
 * Recent attempts bucketed for the chart: hourly when they span up to 3 days, 6-hourly up to
 * 3 weeks, daily beyond. Returns the buckets, their width, and the time axis to draw: at least
 * the last 24 hours, so a few attempts show as the bars they are rather than fill the chart.
 */
function bucketed(attempts) {
  const now = Date.now();
  const times = attempts.map((a) => new Date(a.ts).getTime()).filter((t) => t > 0);
  const first = times.length ? Math.min(...times) : now;
  const spanH = (now - first) / 3600000;
  const width = spanH <= 72 ? 3600 : spanH <= 21 * 24 ? 6 * 3600 : 86400;
  const ms = width * 1000;
  const by = new Map();
  for (const a of attempts) {
    const t = Math.floor(new Date(a.ts).getTime() / ms) * ms;
    const b = by.get(t) || { start: new Date(t).toISOString(), width_secs: width, successes: 0, familiar_failures: 0, unfamiliar_failures: 0 };
    if (a.outcome === 'success') b.successes += 1;
    else if (a.familiar) b.familiar_failures += 1;
    else b.unfamiliar_failures += 1;
    by.set(t, b);
  }
  const end = (Math.floor(now / ms) + 1) * width;
  return { buckets: [...by.values()], width, span: [Math.min(Math.floor(first / ms) * width, end - 86400), end] };
}

const MODES = {
  internal_only: 'only from trusted networks and sources it has used before',
  must_reset: 'not at all until its password is reset',
  disabled: 'not at all',
};

export async function accountPage(main, params, name, rerender) {
  const r = await api.account(name);
  const p = r.protection;
  const attempts = r.recent_attempts || [];
  const protect = (mode) => runAction(
    `Protect ${r.account}`,
    `Allow ${r.account} to log in ${MODES[mode]}, until an admin lifts it.`,
    actions.protect(r.account, mode), rerender);
  const unprotect = () => runAction(`Lift protection of ${r.account}`, `${r.account} will log in as usual again.`, actions.unprotect(r.account), rerender);
  const failures = attempts.filter((a) => a.outcome !== 'success');
  const chart = bucketed(attempts);
  return [
    h('header', { class: 'page-head' },
      h('div', {}, h('div', { class: 'eyebrow' }, 'account'), h('h1', { class: 'acct-name' }, r.account)),
      h('div', { class: 'page-actions' },
        p ? h('button', { type: 'button', class: 'secondary', onclick: unprotect, 'data-action': 'unprotect' }, 'Lift protection') : [
          h('button', { type: 'button', class: 'danger', onclick: () => protect('internal_only'), 'data-action': 'protect' }, 'Protect (internal only)'),
          h('button', { type: 'button', class: 'secondary', onclick: () => protect('must_reset'), 'data-action': 'protect-reset' }, 'Require password reset'),
        ])),
    h('div', { class: 'figs' },
      figure(p ? p.mode.replace('_', ' ') : 'none', p ? `protected since ${time(p.since)}${p.until ? `, until ${time(p.until)}` : ''}` : 'protection', p ? 'warn' : ''),
      figure(r.compromised ? 'COMPROMISED' : r.at_risk ? 'at risk' : 'no finding', r.compromised ? `at ${time(r.compromised.at)} from ${r.compromised.source || '?'}` : r.at_risk ? r.at_risk.reason : 'findings', r.compromised ? 'bad' : r.at_risk ? 'warn' : 'good'),
      figure(num(attempts.length), 'recent attempts'),
      figure(num(failures.filter((a) => !a.familiar).length), 'failures from unfamiliar sources', failures.some((a) => !a.familiar) ? 'warn' : ''),
      figure(num((r.familiar_sources || []).length), 'familiar sources')),
    (r.campaigns || []).length ? h('p', {}, 'Targeted by ', (r.campaigns || []).flatMap((id, i) => [i ? ', ' : '', campaignLink(id)]), '.') : null,
    section(`Recent attempts per ${widthLabel(chart.width)}`, stackedColumns(chart.buckets, TRAFFIC_LAYERS, { yLabel: `attempts per ${widthLabel(chart.width)}`, title: `Recent attempts for ${r.account}`, span: chart.span })),
    section('Recent attempts',
      table([
        { label: 'When', cell: (a) => time(a.ts), class: 't' },
        { label: 'Source', cell: (a) => h('span', { class: 'mono' }, a.source || '–') },
        { label: 'Familiar', cell: (a) => (a.familiar ? h('span', { class: 'pill ok' }, 'familiar') : h('span', { class: 'pill warn' }, 'unfamiliar')) },
        { label: 'Protocol', cell: (a) => a.protocol || '–' },
        { label: 'Outcome', cell: (a) => h('span', { class: a.outcome === 'success' ? '' : 'fail' }, (a.outcome || '').replace('_', ' ')) },
        { label: 'Verdict', cell: (a) => a.verdict || '–' },
      ], attempts, { empty: 'No recent attempt.', limit: 200 })),
    section('Familiar sources',
      table([
        { label: 'Source', cell: (x) => h('span', { class: 'mono' }, x.source) },
        { label: 'Successful logins', cell: (x) => num(x.successes), class: 'n' },
        { label: 'Last success', cell: (x) => time(x.last_success), class: 't' },
      ], r.familiar_sources || [], { empty: 'No familiar source yet.' })),
  ];
}
