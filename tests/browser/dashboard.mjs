// Headless-Chromium check of the portcullis dashboard against a running server:
// signs in, loads every page, fails on any console error, page error or failed request, checks
// that the charts have data, does one action round trip (block → visible → unblock) and checks
// that a POST without the CSRF token is refused.
//
//   node dashboard.mjs BASE_URL USER PASSWORD [--screenshots DIR]   (writes DIR/dashboard-*.png)
//
// Uses Debian's chromium (/usr/bin/chromium, or $CHROMIUM) through playwright-core; no browser
// is downloaded.

import { chromium } from 'playwright-core';
import fs from 'node:fs';

const args = process.argv.slice(2);
const shotIdx = args.indexOf('--screenshots');
const shotDir = shotIdx >= 0 ? args.splice(shotIdx, 2)[1] : null;
const [base, user, password] = args;
if (!base || !user || !password) {
  console.error('usage: node dashboard.mjs BASE_URL USER PASSWORD [--screenshots DIR]');
  process.exit(2);
}
const root = base.replace(/\/+$/, '');
const TEST_PREFIX = '198.18.0.0/24'; // RFC 2544 benchmarking range: never a real client

const problems = [];
const fail = (msg) => { problems.push(msg); console.error(`FAIL ${msg}`); };
const ok = (msg) => console.log(`ok   ${msg}`);
const check = (cond, msg) => (cond ? ok(msg) : fail(msg));

// launch() runs headless with a fresh temporary profile (its own --user-data-dir), removed on close.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 768 } }); // a laptop
const page = await context.newPage();
page.on('console', (m) => { if (m.type() === 'error') fail(`console error on ${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => fail(`page error on ${page.url()}: ${e.message}`));
page.on('requestfailed', (r) => fail(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
page.on('response', (r) => { if (r.status() >= 400) fail(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`); });
page.on('dialog', (d) => { fail(`unexpected browser dialog: ${d.message()}`); d.dismiss(); });

const shot = async (name) => {
  if (!shotDir) return;
  fs.mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: `${shotDir}/dashboard-${name}.png`, fullPage: false });
};
const blocked = (prefix) => page.locator(`main section:has(#block-form) tbody span.mono:text-is("${prefix}")`);
const bars = (scope = '') => page.locator(`${scope} svg[data-chart] rect.bar`).count();

try {
  // Sign in.
  await page.goto(`${root}/`, { waitUntil: 'networkidle' });
  await page.waitForSelector('#login-form', { timeout: 10000 });
  ok('login form shown to an anonymous visitor');
  await page.fill('#login-form input[name=username]', user);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');

  // Overview: traffic chart with data, verdict mix, open campaigns.
  await page.waitForSelector('svg[data-chart=columns] rect.bar', { timeout: 15000 });
  await page.waitForLoadState('networkidle');
  check((await page.locator('h1').first().textContent()) === 'Overview', 'overview loads after sign-in');
  check((await bars()) > 10, `overview attempts chart has data (${await bars()} bars)`);
  check((await page.locator('svg[data-chart=share] rect.bar').count()) > 0, 'verdict mix has data');
  // The axis says how wide the server's buckets are (10 s, a minute, an hour, 6 hours, a day).
  const ov = await (await context.request.get(`${root}/api/overview?hours=48`)).json();
  const width = ov.timeline.find((b) => b.width_secs > 0)?.width_secs;
  const yLabel = await page.locator('svg[data-chart=columns] text.y-label').first().textContent();
  const words = await page.evaluate(async (ws) => {
    const { widthLabel } = await import('/assets/charts.js');
    return ws.map((w) => widthLabel(w));
  }, [width, 10, 60, 3600, 6 * 3600, 86400, 7200]);
  check(yLabel === `attempts per ${words[0]}`, `overview axis label "${yLabel}" matches the buckets' width_secs ${width}`);
  check(JSON.stringify(words.slice(1)) === JSON.stringify(['10 s', 'minute', 'hour', '6 hours', 'day', '2 hours']),
    `bucket widths in words: ${words.slice(1).join(', ')}`);
  await shot('overview');

  // Campaigns list → first campaign.
  await page.goto(`${root}/#/campaigns`, { waitUntil: 'networkidle' });
  await page.waitForSelector('main table');
  const firstCampaign = page.locator('main table a[href^="#/campaign/"]').first();
  check((await firstCampaign.count()) === 1, 'campaigns list has a campaign');
  await firstCampaign.click();
  await page.waitForSelector('svg[data-chart=columns]');
  await page.waitForLoadState('networkidle');
  check((await bars()) > 0, `campaign attempts-per-hour chart has data (${await bars()} bars)`);
  check((await page.locator('main section').count()) >= 4, 'campaign page shows sources, accounts, compromised, actions');
  await shot('campaign');

  // An account from the campaign.
  const acct = page.locator('main a.acct').first();
  if ((await acct.count()) > 0) {
    const name = await acct.textContent();
    await acct.click();
    await page.waitForSelector('h1.acct-name');
    await page.waitForLoadState('networkidle');
    check((await page.locator('h1.acct-name').textContent()) === name, `account page for ${name}`);
    check((await page.locator('main table').count()) >= 1, 'account page lists attempts or familiar sources');
    await shot('account');
  } else {
    fail('campaign page lists no account to open');
  }

  // Actions: block a test prefix through the confirmation dialog, see it, unblock it.
  await page.goto(`${root}/#/actions`, { waitUntil: 'networkidle' });
  await page.waitForSelector('#block-form');
  const auditBefore = await page.locator('main section:last-of-type tbody tr').count();
  await page.fill('#block-form input[name=prefix]', TEST_PREFIX);
  await page.fill('#block-form input[name=reason]', 'browser test round trip');
  await page.click('#block-form button[type=submit]');
  await page.waitForSelector('dialog#confirm[open]');
  check((await page.locator('#confirm-detail').textContent()).includes(TEST_PREFIX), 'confirmation shows the exact action');
  await shot('confirm');
  await page.click('#confirm-ok');
  await blocked(TEST_PREFIX).waitFor({ timeout: 10000 });
  ok(`block ${TEST_PREFIX} applied and listed`);
  const auditAfter = await page.locator('main section:last-of-type tbody tr').count();
  check(auditAfter === auditBefore + 1, `audit log grew by one (${auditBefore} → ${auditAfter})`);
  const row = page.locator('main section:has(#block-form) tbody tr')
    .filter({ has: page.locator(`span.mono:text-is("${TEST_PREFIX}")`) });
  await row.locator('button[data-action=unblock]').click();
  await page.waitForSelector('dialog#confirm[open]');
  await page.click('#confirm-ok');
  await blocked(TEST_PREFIX).waitFor({ state: 'detached', timeout: 10000 });
  ok(`unblock ${TEST_PREFIX} round-tripped`);
  await shot('actions');

  // A cancelled confirmation does nothing.
  await page.fill('#block-form input[name=prefix]', TEST_PREFIX);
  await page.click('#block-form button[type=submit]');
  await page.waitForSelector('dialog#confirm[open]');
  await page.click('#confirm-cancel');
  await page.waitForTimeout(300);
  check((await blocked(TEST_PREFIX).count()) === 0, 'cancel leaves nothing blocked');

  // CSRF: the same POST without the token header, with the session cookie, is refused.
  const res = await context.request.post(`${root}/api/actions`, { data: { type: 'block', prefix: TEST_PREFIX, until: null, reason: 'csrf probe' } });
  check(res.status() === 403, `POST without X-CSRF-Token refused (HTTP ${res.status()})`);
  const st = await context.request.get(`${root}/api/state`);
  check(!JSON.stringify(await st.json()).includes(TEST_PREFIX), 'the refused POST changed nothing');
} catch (e) {
  fail(`${e.message.split('\n')[0]} (at ${page.url()})`);
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log('dashboard: all checks passed');
