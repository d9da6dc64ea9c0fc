// flow.call in the UI: the called run is in the Process Log under the trigger
// "Called by a flow", and its page links back to the run that called it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
let parentRun;
before(async () => {
  server = await startServer();
  await server.api('POST', '/flows', { name: 'Enrich', steps: [{ id: 'echo', uses: 'data.set', with: { value: '{{ trigger.body.n + 1 }}' } }] });
  const caller = (await server.api('POST', '/flows', {
    name: 'Caller',
    steps: [{ id: 'call', uses: 'flow.call', with: { flow: 'Enrich', input: { n: 41 } } }],
  })).body;
  parentRun = (await server.api('POST', `/flows/${caller.id}/runs?wait=20s`, {})).body;
  assert.equal(parentRun?.status, 'succeeded', JSON.stringify(parentRun));
  assert.equal(parentRun.output, 42);
});
after(async () => { await closeBrowser(); await server?.stop(); });

test('flow.call: the called run links back to its caller', async () => {
  await withPage(server, 'flow-call', async ({ page }) => {
    await page.goto('/runs');
    await page.getByLabel('Filter by trigger').selectOption('flow');
    const rows = page.getByTestId('run-row');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Enrich');
    await rows.first().click();
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
    await page.getByTestId('caller-run').click();
    await page.waitForURL((u) => u.pathname === `/runs/${parentRun.id}`);
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
  });
});
