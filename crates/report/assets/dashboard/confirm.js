// Confirmation before any action: says in words what will happen and shows the exact request.

import { act } from './api.js';

const dlg = () => document.getElementById('confirm');

/** Resolves true when the admin confirms. */
export function confirmAction(title, text, action) {
  const d = dlg();
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-detail').textContent = JSON.stringify(action, null, 2);
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.returnValue = '';
    d.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

export function toast(message, kind = 'ok') {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

/** Confirms, posts, reports; calls `after` on success. */
export async function runAction(title, text, action, after) {
  if (!(await confirmAction(title, text, action))) return false;
  try {
    await act(action);
    toast(`Done: ${title.toLowerCase()}.`);
    if (after) await after();
    return true;
  } catch (e) {
    toast(`Failed: ${e.message}`, 'err');
    return false;
  }
}

const hours = (n) => new Date(Date.now() + n * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Builders for the engine's AdminAction JSON (the server stamps `at`). */
export const actions = {
  block: (prefix, reason, forHours = 24) => ({ type: 'block', prefix, until: forHours ? hours(forHours) : null, reason }),
  unblock: (prefix) => ({ type: 'unblock', prefix }),
  protect: (account, mode = 'internal_only', forHours = null) => ({ type: 'protect', account, mode, until: forHours ? hours(forHours) : null }),
  unprotect: (account) => ({ type: 'unprotect', account }),
  shieldsUp: (protocols = [], forHours = 12) => ({ type: 'shields_up', protocols, until: forHours ? hours(forHours) : null }),
  shieldsDown: () => ({ type: 'shields_down' }),
};
