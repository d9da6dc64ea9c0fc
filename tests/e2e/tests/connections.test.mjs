// Create an `http` connection whose base_url points at a tiny HTTP server this
// test starts, test it from the gear menu, use it in a flow built in the editor,
// then try to delete it and see the refusal naming the flow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, withPage, closeBrowser, missingRoutes } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
let upstream;
let upstreamUrl;
const seen = [];

before(async () => {
  server = await startServer();
  upstream = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    if (req.headers.authorization !== 'Bearer s3cret-token') {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end('{"error":"no token"}');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ invoices: [{ id: 'inv-1', total: 40 }] }));
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
});
after(async () => {
  await closeBrowser();
  await server?.stop();
  await new Promise((r) => (upstream ? upstream.close(r) : r()));
});

/** Why this server cannot run the test yet, or null. */
async function notReady() {
  const missing = await missingRoutes(server, ['POST /api/v1/connections', 'DELETE /api/v1/connections/{id}', 'POST /api/v1/connections/{id}/test']);
  if (missing.length) return `server lacks ${missing.join(', ')}`;
  const list = await server.api('GET', '/connections');
  if (list.status !== 200) return `GET /api/v1/connections answers ${list.status}: ${list.body?.error?.message ?? ''}`;
  const cat = await server.api('GET', '/connectors');
  if (!cat.body?.connectors?.some((c) => c.name === 'http')) return 'GET /api/v1/connectors has no `http` connector';
  return null;
}

test('connections: create an http connection, test it, refuse to delete it while a flow uses it', async (t) => {
  const why = await notReady();
  assert.equal(why, null, `the server is not ready for this test: ${why}`);
  await withPage(server, 'connections', async ({ page }) => {
    await page.goto('/connections');
    await page.getByTestId('new-connection').first().click();
    await page.locator('#conn-name').fill('billing-api');
    await page.locator('#conn-connector').selectOption('http');
    await page.locator('#conn-settings-base_url').fill(upstreamUrl);
    await page.locator('#conn-auth-type').selectOption('bearer');
    const token = page.locator('#conn-auth-token');
    assert.equal(await token.getAttribute('type'), 'password', 'the secret field is masked');
    await token.fill('s3cret-token');
    await page.getByTestId('save-connection').click();

    const row = page.locator('[data-testid=connection-row][data-connection-name=billing-api]');
    await expect(row).toBeVisible();
    await expect(row).toContainText('HTTP');
    await expect(row).toContainText(/Bearer/i);
    // The secret never comes back.
    const listed = await server.api('GET', '/connections');
    const stored = listed.body.connections.find((c) => c.name === 'billing-api');
    assert.equal(stored.auth.token, '********');

    // Test: the upstream is called with the token, and the row shows the result.
    await row.getByTestId('connection-gear').click();
    await page.getByRole('menuitem', { name: 'Test' }).click();
    const result = row.getByTestId('connection-test-result');
    await expect(result.locator('[data-ok]')).toHaveAttribute('data-ok', 'true');
    assert.ok(seen.some((s) => s.authorization === 'Bearer s3cret-token'), `upstream saw ${JSON.stringify(seen)}`);

    // A flow that uses it, built in the editor: the only http connection is picked for the step.
    await page.getByRole('navigation').getByRole('link', { name: 'Flows', exact: true }).click();
    await page.getByTestId('new-flow').first().click();
    await page.getByTestId('flow-name-input').fill('Invoice sync');
    await page.getByTestId('add-step').first().click();
    await page.getByTestId('palette').getByRole('searchbox').fill('http');
    await page.getByTestId('palette-item-http.request').click();
    const form = page.getByTestId('step-form');
    const stepId = await form.getAttribute('data-step-id');
    await expect(page.locator(`#step-${stepId}-connection`)).toHaveValue('billing-api');
    await page.locator(`#step-${stepId}-url`).fill('/invoices');
    await page.getByTestId('save-flow').click();
    await page.waitForURL((u) => /^\/flows\/[^/]+$/.test(u.pathname) && u.pathname !== '/flows/new'); // the save's redirect, not /flows/new
    const flowId = page.url().split('/').pop();
    const flow = await server.api('GET', `/flows/${flowId}`);
    assert.equal(flow.body.steps[0].connection, 'billing-api');
    // It works end to end.
    const run = await server.api('POST', `/flows/${flowId}/runs?wait=10s`, {});
    assert.equal(run.body?.status, 'succeeded', JSON.stringify(run.body?.error ?? run.body));

    // The Flow List shows the connection the flow uses.
    await page.getByRole('navigation').getByRole('link', { name: 'Flows', exact: true }).click();
    const flowRow = page.locator('[data-testid=flow-row][data-flow-name="Invoice sync"]');
    await expect(flowRow).toBeVisible();
    await expect(flowRow.locator('[title*="billing-api"], [aria-label*="billing-api"]').first()).toBeVisible();

    // Delete while in use: refused, naming the flow; the row stays.
    await page.getByRole('navigation').getByRole('link', { name: 'Connections' }).click();
    await row.getByTestId('connection-gear').click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect(dialog.getByRole('alert')).toContainText('Invoice sync');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(row).toBeVisible();
    const still = await server.api('GET', '/connections');
    assert.ok(still.body.connections.some((c) => c.name === 'billing-api'));
  });
});
