// The Process Log filters runs by flow and status (GET /runs?flow_id=&status=),
// a failed run's page shows the failing step's error, and Retry starts a new run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
let okFlow;
let badFlow;
before(async () => {
  server = await startServer();
  okFlow = (await server.api('POST', '/flows', { name: 'Always fine', steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }] })).body;
  badFlow = (await server.api('POST', '/flows', {
    name: 'Always fails',
    steps: [{ id: 'first', uses: 'data.set', with: { value: 2 } }, { id: 'boom', uses: 'flow.fail', with: { message: 'refund over the limit' } }],
  })).body;
  for (const f of [okFlow, okFlow, badFlow]) {
    const r = await server.api('POST', `/flows/${f.id}/runs?wait=10s`, {});
    assert.ok(['succeeded', 'failed'].includes(r.body?.status), JSON.stringify(r.body));
  }
});
after(async () => { await closeBrowser(); await server?.stop(); });

test('Process Log: filters, a failed run with its error, Retry', async () => {
  await withPage(server, 'process-log', async ({ page }) => {
    await page.goto('/runs');
    const rows = page.getByTestId('run-row');
    await expect(rows).toHaveCount(3);

    await page.getByLabel('Filter by status').selectOption('failed');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute('data-status', 'failed');
    await expect(rows.first()).toContainText('Always fails');

    await page.getByLabel('Filter by status').selectOption('');
    await page.getByLabel('Filter by flow').selectOption({ label: 'Always fine' });
    await expect(rows).toHaveCount(2);
    for (const s of await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-status')))) assert.equal(s, 'succeeded');

    // The failed run: its page names the failing step and the message.
    await page.getByLabel('Filter by flow').selectOption({ label: 'Always fails' });
    await expect(rows).toHaveCount(1);
    await rows.first().click();
    const runPage = page.getByTestId('run-page');
    await expect(runPage).toHaveAttribute('data-status', 'failed');
    await expect(page.getByTestId('step-run-boom')).toHaveAttribute('data-status', 'failed');
    await expect(page.getByTestId('step-run-first')).toHaveAttribute('data-status', 'succeeded');
    await expect(page.getByTestId('run-error')).toContainText('refund over the limit');

    // Retry: a new run of the same flow, which fails the same way.
    const before = page.url();
    await page.getByTestId('retry-run').click();
    await page.waitForURL((u) => u.toString() !== before && /\/runs\/[^/]+$/.test(u.pathname));
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'failed');
    const all = await server.api('GET', `/runs?flow_id=${badFlow.id}`);
    assert.equal(all.body.runs.length, 2);
  });
});
