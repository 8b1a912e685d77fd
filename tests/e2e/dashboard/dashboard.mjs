// Drives a real headless Chromium (Debian's) through the minikd dashboard. Called by
// tests/e2e/dashboard_test.sh with the environment it prepared:
//   LOGIN_URL  the one-time login link printed by `minikd up`
//   ARTIFACTS  where screenshots go
//   KUBECONFIG for kubectl (creating objects behind the page's back)
//   LOG_POD    a pod (default namespace) that prints LOG_LINE; its log must reach the page
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOGIN_URL = process.env.LOGIN_URL;
const ARTIFACTS = process.env.ARTIFACTS;
const BASE = new URL(LOGIN_URL).origin;
mkdirSync(ARTIFACTS, { recursive: true });

const kubectl = (...args) => execFileSync('kubectl', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
const ok = (what) => console.log('ok: ' + what);
let failures = 0;
const fail = (what) => { console.error('FAIL: ' + what); failures++; };

async function check(what, fn) {
  try { await fn(); ok(what); } catch (e) { fail(what + ': ' + (e.message || e).split('\n')[0]); }
}

const profile = mkdtempSync(join(tmpdir(), 'minikd-chromium-'));
// A fresh profile (user-data-dir) each run, removed at the end.
let browser;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1360, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
} catch (e) {
  rmSync(profile, { recursive: true, force: true });  // the finally below is not reached
  throw e;
}
const page = browser.pages()[0] || await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
// The browser logs every non-2xx response; the checks below make some on purpose (401, 404, 422).
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
const shot = async (name) => {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ARTIFACTS, name + '.png'), fullPage: true });
};
const go = async (hash) => { await page.evaluate((h) => { location.hash = h; }, hash); await page.waitForTimeout(100); };

try {
  // ---- login ----
  await check('the page without a session shows only the login page', async () => {
    const res = await page.goto(BASE + '/');
    if (res.status() !== 401) throw new Error('status ' + res.status());
    await page.getByText('login link').first().waitFor({ timeout: 3000 });
    await shot('00-login-required');
  });
  await check('login through the one-time link lands on the live overview', async () => {
    await page.goto(LOGIN_URL);
    await page.waitForURL(BASE + '/', { timeout: 5000 });
    await page.locator('#conn.live').waitFor({ timeout: 5000 });
    await page.locator('.part b', { hasText: 'api' }).waitFor({ timeout: 5000 });
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
    console.log(`figure: first contentful paint ${fcp?.toFixed(0)} ms`);
    if (!(fcp < 300)) throw new Error('first paint took ' + fcp + ' ms');
    await page.evaluate(() => { window.__noReload = true; });
    await shot('01-overview');
  });
  await check('the login link is one-time', async () => {
    const p2 = await browser.newPage();
    const res = await p2.goto(LOGIN_URL);
    if (res.status() !== 401) throw new Error('reused link answered ' + res.status());
    await p2.close();
  });

  // ---- pods ----
  await check('pods view shows the deployment\'s pods', async () => {
    await go('#/pods');
    await page.locator('tr[data-key^="default/web-"]').first().waitFor({ timeout: 5000 });
    await shot('02-pods');
  });
  await check('a pod created through the API appears without a reload', async () => {
    kubectl('run', 'live-pod', '--image=none', '--restart=Never', '--command', '--', 'sleep', '3600');
    await page.locator('tr[data-key="default/live-pod"]').waitFor({ timeout: 3000 });
    if (!(await page.evaluate(() => window.__noReload))) throw new Error('the page reloaded');
  });
  await check('namespace filter narrows the pods view', async () => {
    await page.selectOption('#ns', 'kube-system');
    await page.waitForURL(/#\/pods\?ns=kube-system$/);
    if (await page.locator('tr[data-key^="default/"]').count()) throw new Error('default pods still shown');
    await page.selectOption('#ns', '');
  });

  // ---- deployments ----
  await check('scale a deployment with the button and see the count change', async () => {
    await go('#/deployments');
    const row = page.locator('tr[data-key="default/web"]');
    await row.locator('.ready-count', { hasText: '/2' }).waitFor({ timeout: 5000 });
    await shot('03-deployments');
    await row.locator('button[data-action=scale][data-delta="1"]').click();
    await row.locator('.ready-count', { hasText: '/3' }).waitFor({ timeout: 3000 });
    const replicas = kubectl('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}');
    if (replicas !== '3') throw new Error('spec.replicas is ' + replicas);
    await page.locator('.grid tr', { hasText: /^web-/ }).first().waitFor({ timeout: 3000 }).catch(() => {});
  });
  await check('rollout restart through the button sets restartedAt', async () => {
    await page.locator('tr[data-key="default/web"] button[data-action=restart]').click();
    await page.waitForTimeout(500);
    const at = kubectl('get', 'deploy', 'web', '-o', "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}");
    if (!at) throw new Error('no restartedAt annotation');
  });

  // ---- the other views ----
  await check('services view shows the service and its endpoints', async () => {
    await go('#/services');
    await page.getByRole('link', { name: 'web', exact: true }).first().waitFor({ timeout: 3000 });
    await shot('04-services');
  });
  await check('events view', async () => {
    await go('#/events');
    await page.locator('h2', { hasText: 'Events' }).waitFor();
    await shot('05-events');
  });
  await check('topology map draws services, pods and owners', async () => {
    await go('#/topology');
    await page.locator('.topo svg .node').first().waitFor({ timeout: 3000 });
    const n = await page.locator('.topo svg .node').count();
    if (n < 4) throw new Error('only ' + n + ' nodes');
    await shot('06-topology');
  });
  await check('object YAML view and editor', async () => {
    await go('#/object/Deployment/default/web');
    await page.locator('#source', { hasText: 'kind: Deployment' }).waitFor({ timeout: 3000 });
    await shot('07-object-yaml');
    await page.click('button[data-action=edit]');
    const text = await page.inputValue('#edit-text');
    const o = JSON.parse(text);
    o.metadata.labels = { ...(o.metadata.labels || {}), edited: 'yes' };
    delete o.metadata.resourceVersion;
    await page.fill('#edit-text', JSON.stringify(o, null, 2));
    await page.click('button[data-action=put]');
    await page.locator('#edit-result.ok-text').waitFor({ timeout: 3000 });
    if (kubectl('get', 'deploy', 'web', '-o', 'jsonpath={.metadata.labels.edited}') !== 'yes') throw new Error('label not applied');
  });
  await check('the apply editor shows the API\'s error message', async () => {
    await go('#/apply');
    await page.fill('#edit-text', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } }));
    await page.click('button[data-action=apply]');
    await page.locator('#edit-result.error').waitFor({ timeout: 3000 });
    const msg = await page.textContent('#edit-result');
    if (!/command/i.test(msg)) throw new Error('error shown: ' + msg);
    await shot('08-apply-error');
  });

  // ---- refusals ----
  await check('an API request without the session is refused (401)', async () => {
    const res = await fetch(BASE + '/api/v1/pods');
    if (res.status !== 401) throw new Error('status ' + res.status);
  });
  await check('a request with a foreign Origin is refused (403), even with the session', async () => {
    const cookie = (await page.context().cookies()).map((c) => c.name + '=' + c.value).join('; ');
    const good = await fetch(BASE + '/api/v1/pods', { headers: { Cookie: cookie } });
    if (good.status !== 200) throw new Error('with the session: ' + good.status);
    const res = await fetch(BASE + '/api/v1/namespaces/default/pods/live-pod', { method: 'DELETE', headers: { Cookie: cookie, Origin: 'http://evil.example' } });
    if (res.status !== 403) throw new Error('status ' + res.status);
    const noOrigin = await fetch(BASE + '/api/v1/namespaces/default/pods/live-pod', { method: 'DELETE', headers: { Cookie: cookie } });
    if (noOrigin.status !== 403) throw new Error('a write without Origin: status ' + noOrigin.status);
  });

  // ---- logs (needs the pod runtime) ----
  await check('a log panel follows what the pod prints', async () => {
    const pod = process.env.LOG_POD, line = process.env.LOG_LINE;
    let phase = '';
    for (let i = 0; i < 100 && phase !== 'Running'; i++) {
      phase = kubectl('get', 'pod', pod, '-o', 'jsonpath={.status.phase}');
      if (phase !== 'Running') await new Promise((r) => setTimeout(r, 200));
    }
    if (phase !== 'Running') throw new Error(`pod ${pod} never ran (phase "${phase}"): the pod runtime is not wired into minikd up`);
    await go('#/logs/default/' + pod);
    await page.locator('#log', { hasText: line }).waitFor({ timeout: 5000 });
    await shot('09-logs');
  });
  if (errors.length) fail('errors in the page: ' + errors.join(' | '));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures) { console.error(failures + ' check(s) failed'); process.exit(1); }
console.log('all dashboard checks passed');
