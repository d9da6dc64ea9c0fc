// Screenshots of each page for docs/screenshots/, against the real binary with
// a few flows, runs, deliveries and (when the server has them) connections.
// Run: node tests/e2e/screenshots.mjs   (WEFT_BIN as for the tests)
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import http from 'node:http';
import { startServer, openPage, closeBrowser, repoRoot } from './lib/harness.mjs';
import { expect } from './lib/expect.mjs';
import { startSshd } from './lib/sshd.mjs';

const out = path.join(repoRoot, 'docs', 'screenshots');
await mkdir(out, { recursive: true });

const server = await startServer();
const upstream = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}'); });
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

async function must(method, p, body, want) {
  const r = await server.api(method, p, body);
  if (want && r.status !== want) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// ---- data ---------------------------------------------------------------
let haveConnections = (await server.api('GET', '/connections')).status === 200;
if (haveConnections) {
  const c1 = await server.api('POST', '/connections', { name: 'crm-api', connector: 'http', settings: { base_url: upstreamUrl }, auth: { type: 'bearer', token: 'demo-token' } });
  const c2 = await server.api('POST', '/connections', { name: 'billing', connector: 'http', settings: { base_url: upstreamUrl }, auth: { type: 'basic', username: 'ops', password: 'pw' } });
  haveConnections = c1.status === 201 && c2.status === 201;
}
const orders = await must('POST', '/flows', {
  name: 'Orders from the shop',
  description: 'Webhook from the shop: normalise the order and log it',
  trigger: { type: 'webhook', webhook: { methods: ['POST'], response: { mode: 'accepted' } } },
  steps: [
    { id: 'order', uses: 'data.set', with: { value: { id: '{{ trigger.body.id }}', total: '{{ $sum(trigger.body.items.price) }}', customer: '{{ $uppercase(trigger.body.customer) }}' } } },
    { id: 'big', uses: 'flow.if', with: { condition: '{{ steps.order.output.total > 100 }}' },
      then: [{ id: 'note', uses: 'log.write', with: { message: 'Big order {{ steps.order.output.id }}', level: 'warn' } }],
      else: [{ id: 'small', uses: 'log.write', with: { message: 'Order {{ steps.order.output.id }}' } }] },
  ],
}, 201);
await must('POST', `/flows/${orders.id}/activate`, undefined, 200);
const nightly = await must('POST', '/flows', {
  name: 'Nightly invoice export',
  description: 'Every weekday at 06:30, Paris time',
  trigger: { type: 'schedule', schedule: { kind: 'cron', cron: '30 6 * * MON-FRI', timezone: 'Europe/Paris' } },
  steps: haveConnections
    ? [{ id: 'fetch', uses: 'http.request', connection: 'billing', with: { url: '/invoices' } }, { id: 'count', uses: 'data.transform', with: { expression: '$count(steps.fetch.output.body)' } }]
    : [{ id: 'count', uses: 'data.set', with: { value: 3 } }],
}, 201);
await must('POST', `/flows/${nightly.id}/activate`, undefined, 200);
const hourly = await must('POST', '/flows', {
  name: 'CRM contact sync',
  description: 'Every hour',
  trigger: { type: 'schedule', schedule: { kind: 'predefined', every: '1h', timezone: 'UTC' } },
  steps: haveConnections ? [{ id: 'contacts', uses: 'http.request', connection: 'crm-api', with: { url: '/contacts' } }] : [{ id: 'contacts', uses: 'data.set', with: { value: [] } }],
}, 201);
const manual = await must('POST', '/flows', {
  name: 'Greeter',
  description: 'Say hello, wait, say goodbye',
  steps: [
    { id: 'hello', uses: 'log.write', with: { message: 'hello {{ trigger.body.who }}' } },
    { id: 'wait', uses: 'flow.delay', with: { duration: '300ms' } },
    { id: 'items', uses: 'flow.foreach', with: { items: '{{ trigger.body.items }}' }, do: [{ id: 'each', uses: 'log.write', with: { message: 'item {{ item }}' } }] },
    { id: 'bye', uses: 'data.set', with: { value: { greeting: 'Goodbye, {{ trigger.body.who }}!' } } },
  ],
}, 201);
const failing = await must('POST', '/flows', {
  name: 'Refund check',
  steps: [{ id: 'check', uses: 'data.set', with: { value: '{{ trigger.body.amount }}' } }, { id: 'stop', uses: 'flow.fail', with: { message: 'amount over the refund limit' } }],
}, 201);
void hourly;

// A "New data" flow on a local SFTP folder (sshd), when there is an sshd.
const sshd = haveConnections ? await startSshd().catch((e) => (console.log(`note: no New-data screenshot: ${e.message.split('\n')[0]}`), null)) : null;
let retailer = null;
if (sshd) {
  const inbox = `${sshd.files}/outbound`;
  mkdirSync(inbox);
  writeFileSync(`${inbox}/orders-0412.csv`, 'id,total\n1,40\n2,12\n');
  writeFileSync(`${inbox}/orders-0413.csv`, `id,total\n${'3,99\n'.repeat(400)}`);
  await must('POST', '/connections', { name: 'retailer-drop', connector: 'sftp', settings: { host: '127.0.0.1', port: sshd.port }, auth: { type: 'private_key', username: sshd.user, private_key: sshd.privateKey } }, 201);
  retailer = await must('POST', '/flows', {
    name: 'Retailer orders',
    description: 'CSV files dropped on the retailer’s SFTP server',
    trigger: { type: 'poll', poll: { every: '1m', source: { uses: 'sftp.new_files', connection: 'retailer-drop', with: { folder: inbox, pattern: '*.csv' } } } },
    steps: [{ id: 'rows', uses: 'data.set', with: { value: '{{ trigger.item.name }}' } }],
  }, 201);
}

const greeterRun = await must('POST', `/flows/${manual.id}/runs?wait=10s`, { input: { who: 'Ada', items: [1, 2, 3] } });
await must('POST', `/flows/${failing.id}/runs?wait=10s`, { input: { amount: 900 } });
for (const [i, body] of [{ id: 'A-100', customer: 'ada', items: [{ price: 40 }, { price: 90 }] }, { id: 'A-101', customer: 'grace', items: [{ price: 12 }] }].entries()) {
  const r = await fetch(orders.webhook_url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'shop/2.1' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`webhook ${i}: ${r.status}`);
}
await fetch(orders.webhook_url, { method: 'GET' }); // a refused method shows as a 405 delivery
// Wait until the webhook runs are finished.
for (let i = 0; i < 100; i++) {
  const runs = await must('GET', `/runs?flow_id=${orders.id}`);
  if (runs.runs.length >= 2 && runs.runs.every((r) => ['succeeded', 'failed'].includes(r.status))) break;
  await new Promise((r) => setTimeout(r, 100));
}

// ---- pages --------------------------------------------------------------
const p = await openPage(server);
const { page } = p;
const shots = [];
async function shot(name) {
  // Let toasts and transitions settle before the picture: wait for no spinner.
  await page.locator('.spinner, [data-testid=loading]').first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
  const file = path.join(out, `${name}.png`);
  await page.screenshot({ path: file });
  shots.push([name, (await stat(file)).size]);
}

await page.goto('/');
await expect(page.getByTestId('flow-row')).toHaveCount(retailer ? 6 : 5);
await shot('flow-list');

await page.goto(`/flows/${orders.id}`);
await page.getByTestId('trigger-card').click();
await expect(page.getByTestId('webhook-url')).toBeVisible();
await shot('flow-editor-webhook');

await page.goto(`/flows/${nightly.id}`);
await page.getByTestId('trigger-card').click();
await expect(page.getByTestId('schedule-next').locator('li')).toHaveCount(5);
// A taller window, so the card's preview (next times, description) is in the picture.
await page.setViewportSize({ width: 1280, height: 1060 });
await shot('flow-editor-schedule');
await page.setViewportSize({ width: 1280, height: 800 });

await page.goto(`/flows/${orders.id}`);
await page.locator('[data-testid=step-card][data-step-id=order]').click();
await expect(page.getByTestId('expr-message').first()).toBeVisible();
await shot('flow-editor-step');

await page.goto(`/flows/${manual.id}`);
await page.getByTestId('run-flow').click();
await page.locator('#run-input').fill('{"who": "Grace", "items": ["a", "b"]}');
await page.getByTestId('start-run').click();
await expect(page.getByTestId('live-log')).toContainText('run succeeded');
await shot('run-live');
await page.keyboard.press('Escape');

await page.goto('/connections');
if (haveConnections) {
  const row = page.locator('[data-testid=connection-row][data-connection-name=crm-api]');
  await row.getByTestId('connection-gear').click();
  await page.getByRole('menuitem', { name: 'Test' }).click();
  await expect(row.getByTestId('connection-test-result').locator('[data-ok]')).toBeVisible();
}
await shot('connections');

if (retailer) {
  await page.goto(`/flows/${retailer.id}`);
  await page.getByTestId('trigger-card').getByRole('button', { name: /Trigger/ }).click();
  await page.getByTestId('poll-check-button').click();
  await expect(page.getByTestId('poll-item')).toHaveCount(2);
  // A tall window, so the whole form down to Check now's answer is in the picture.
  await page.setViewportSize({ width: 1280, height: 1900 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('flow-editor-new-data');
  await page.setViewportSize({ width: 1280, height: 800 });
}

await page.goto('/connectors');
await expect(page.getByTestId('connector-row')).toHaveCountAtLeast(5);
await page.getByTestId('new-connector-openapi').click();
await page.locator('#openapi-file').setInputFiles(path.join(repoRoot, 'tests', 'data', 'openapi', 'mailchimp', 'transactional.openapi.json'));
await page.getByRole('checkbox', { name: 'All of Messages' }).check();
await shot('connectors-openapi');
await page.keyboard.press('Escape');

await page.goto('/runs');
await expect(page.getByTestId('run-row')).toHaveCountAtLeast(4);
await shot('process-log');

await page.goto(`/runs/${greeterRun.id}`);
await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
await shot('run');

await page.goto(`/webhooks?flow_id=${orders.id}`);
await page.getByTestId('delivery-row').first().click();
await expect(page.getByTestId('delivery-detail')).toBeVisible();
await shot('webhooks');

await page.goto('/settings');
await shot('settings');
await page.goto('/login');
await shot('login');

await p.close();
await closeBrowser();
await server.stop();
await sshd?.stop();
await new Promise((r) => upstream.close(r));
for (const [n, size] of shots) console.log(`${n}.png ${(size / 1024).toFixed(0)} KB`);
if (!haveConnections) console.log('note: the server has no connections API yet; the Connections page shows its error');
