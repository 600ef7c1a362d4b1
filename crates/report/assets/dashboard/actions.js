// Actions page: current blocks, protections and shields; forms to block a prefix, protect an
// account and raise shields; the audit log. Every action goes through a confirmation dialog.

import * as api from './api.js';
import { h, time, section, table, accountLink } from './dom.js';
import { runAction, actions } from './confirm.js';

/** The audit log as a table (also used on campaign pages). */
export function actionsTable(list) {
  return table([
    { label: 'When', cell: (e) => time(e.at), class: 't' },
    { label: 'By', cell: (e) => e.actor || '–' },
    { label: 'Action', cell: (e) => h('b', {}, (e.action?.type || '').replace('_', ' ')) },
    { label: 'Target', cell: (e) => h('span', { class: 'mono' }, e.action?.prefix || e.action?.account || (e.action?.protocols || []).join(', ') || 'everyone') },
    { label: 'Until', cell: (e) => (e.action?.until ? time(e.action.until) : '–'), class: 't' },
    { label: 'Note', cell: (e) => h('span', { class: 'why' }, e.action?.reason || e.action?.mode || '') },
  ], list, { empty: 'No action taken yet.' });
}

export async function actionsPage(main, params, _arg, rerender) {
  const [st, log] = await Promise.all([api.state(), api.actions(200)]);
  const shields = st.shields || {};
  const blockForm = h('form', { class: 'inline-form', id: 'block-form' },
    h('label', {}, 'Address or network', h('input', { name: 'prefix', required: true, placeholder: '198.51.100.0/24', spellcheck: 'false' })),
    h('label', {}, 'For (hours)', h('input', { name: 'hours', type: 'number', min: '1', value: '24' })),
    h('label', { class: 'grow' }, 'Reason', h('input', { name: 'reason', placeholder: 'spray source' })),
    h('button', { class: 'danger', type: 'submit' }, 'Block…'));
  blockForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(blockForm);
    const prefix = String(f.get('prefix')).trim();
    runAction(`Block ${prefix}`, `Deny every login attempt from ${prefix} for ${f.get('hours')} hours.`,
      actions.block(prefix, String(f.get('reason') || 'blocked from the dashboard'), Number(f.get('hours')) || 24), rerender);
  });
  const protectForm = h('form', { class: 'inline-form', id: 'protect-form' },
    h('label', { class: 'grow' }, 'Account', h('input', { name: 'account', required: true, placeholder: 'user@example.org', spellcheck: 'false' })),
    h('label', {}, 'Mode', h('select', { name: 'mode' },
      h('option', { value: 'internal_only' }, 'internal only'),
      h('option', { value: 'must_reset' }, 'until password reset'),
      h('option', { value: 'disabled' }, 'disabled'))),
    h('button', { class: 'danger', type: 'submit' }, 'Protect…'));
  protectForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(protectForm);
    const account = String(f.get('account')).trim();
    runAction(`Protect ${account}`, `Restrict logins of ${account} (${f.get('mode')}) until an admin lifts it.`, actions.protect(account, String(f.get('mode'))), rerender);
  });
  const protos = ['imap', 'pop3', 'smtp', 'ssh', 'http', 'activesync'];
  const shieldsForm = h('form', { class: 'inline-form', id: 'shields-form' },
    h('fieldset', {}, h('legend', {}, 'Protocols (none ticked = all)'),
      protos.map((p) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'p', value: p }), p))),
    h('label', {}, 'For (hours)', h('input', { name: 'hours', type: 'number', min: '1', value: '12' })),
    shields.up
      ? h('button', { class: 'secondary', type: 'button', 'data-action': 'shields-down', onclick: () => runAction('Shields down', 'Remote logins are allowed from anywhere again (per-account protections and blocks stay).', actions.shieldsDown(), rerender) }, 'Shields down…')
      : h('button', { class: 'danger', type: 'submit', 'data-action': 'shields-up' }, 'Shields up…'));
  shieldsForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(shieldsForm);
    const chosen = f.getAll('p').map(String);
    runAction('Shields up', `Remote logins${chosen.length ? ` over ${chosen.join(', ')}` : ''} only from trusted networks and sources each account has used before, for ${f.get('hours')} hours.`,
      actions.shieldsUp(chosen, Number(f.get('hours')) || 12), rerender);
  });
  return [
    h('header', { class: 'page-head' }, h('h1', {}, 'Actions')),
    section('Shields',
      h('p', { class: shields.up ? 'alert' : 'muted', id: 'shields-state' }, shields.up
        ? `Shields are UP${(shields.protocols || []).length ? ` for ${shields.protocols.join(', ')}` : ' for all protocols'}${shields.until ? ` until ${time(shields.until)}` : ''}: remote logins only from familiar sources and trusted networks.`
        : 'Shields are down: logins are judged one by one.'),
      shieldsForm),
    section('Block an address or network', blockForm,
      table([
        { label: 'Blocked', cell: (b) => h('span', { class: 'mono' }, b.prefix) },
        { label: 'Since', cell: (b) => time(b.at), class: 't' },
        { label: 'Until', cell: (b) => (b.until ? time(b.until) : 'lifted by hand'), class: 't' },
        { label: 'Reason', cell: (b) => h('span', { class: 'why' }, b.reason || '') },
        { label: '', cell: (b) => h('button', { type: 'button', class: 'small secondary', 'data-action': 'unblock', onclick: () => runAction(`Unblock ${b.prefix}`, `Attempts from ${b.prefix} are judged normally again.`, actions.unblock(b.prefix), rerender) }, 'Unblock') },
      ], st.blocks || [], { empty: 'Nothing is blocked.' })),
    section('Protect an account', protectForm,
      table([
        { label: 'Account', cell: (p) => accountLink(p.account) },
        { label: 'Mode', cell: (p) => p.mode.replace('_', ' ') },
        { label: 'Since', cell: (p) => time(p.at), class: 't' },
        { label: 'Until', cell: (p) => (p.until ? time(p.until) : 'lifted by hand'), class: 't' },
        { label: '', cell: (p) => h('button', { type: 'button', class: 'small secondary', 'data-action': 'unprotect', onclick: () => runAction(`Lift protection of ${p.account}`, `${p.account} logs in as usual again.`, actions.unprotect(p.account), rerender) }, 'Lift') },
      ], st.protections || [], { empty: 'No account is protected.' })),
    section('Audit log', actionsTable(log.actions || [])),
  ];
}
