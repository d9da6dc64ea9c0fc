// Replay: a failed run retried from its failed step on the latest
// version from its page (the version choice shown), and failed runs selected
// in the Process Log and retried together.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
// `first` records the run id it ran in: a reused result keeps the old run's id.
const steps = (fixed) => [
  { id: 'first', uses: 'data.set', with: { value: '{{ run.id }}' } },
  fixed
    ? { id: 'check', uses: 'data.set', with: { value: 'fixed' } }
    : { id: 'check', uses: 'flow.fail', with: { message: 'not configured yet' } },
];

async function failedRuns(flow, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await server.api('POST', `/flows/${flow.id}/runs?wait=10s`, {});
    assert.equal(r.body?.status, 'failed', JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  return ids;
}

before(async () => {
  server = await startServer();
});
after(async () => { await closeBrowser(); await server?.stop(); });

test('Retry from the failed step on the latest version', async () => {
  const flow = (await server.api('POST', '/flows', { name: 'Replay one', steps: steps(false) })).body;
  const [failed] = await failedRuns(flow, 1);
  const saved = await server.api('PUT', `/flows/${flow.id}`, { name: 'Replay one', steps: steps(true) });
  assert.equal(saved.body.version, 2, JSON.stringify(saved.body));

  await withPage(server, 'replay-one', async ({ page }) => {
    await page.goto(`/runs/${failed}`);
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'failed');
    const version = page.getByTestId('retry-version');
    await expect(version).toContainText('on v1 (the version it ran with)');
    await expect(version).toContainText('on the latest version (v2)');
    await version.selectOption('latest');
    await expect(page.getByTestId('retry-run')).toContainText('Retry from the failed step');
    await page.getByTestId('retry-run').click();
    await page.waitForURL((u) => !u.pathname.endsWith(failed) && /\/runs\/[^/]+$/.test(u.pathname));
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
    await expect(page.getByTestId('step-run-check')).toHaveAttribute('data-status', 'succeeded');
    const id = new URL(page.url()).pathname.split('/').pop();
    const run = (await server.api('GET', `/runs/${id}`)).body;
    assert.equal(run.retry_of, failed);
    assert.equal(run.flow_version, 2);
    assert.equal(run.steps.find((s) => s.id === 'first' || s.path === 'first').output, failed, 'first ran again');
  });
});

test('Process Log: select failed runs and retry them together', async () => {
  const flow = (await server.api('POST', '/flows', { name: 'Replay many', steps: steps(false) })).body;
  const failed = await failedRuns(flow, 3);
  await server.api('PUT', `/flows/${flow.id}`, { name: 'Replay many', steps: steps(true) });

  await withPage(server, 'replay-bulk', async ({ page }) => {
    await page.goto(`/runs?flow_id=${flow.id}`);
    const rows = page.getByTestId('run-row');
    await expect(rows).toHaveCount(3);
    await expect(page.getByTestId('bulk-retry-bar')).toBeHidden();
    // Two of the three.
    for (const id of failed.slice(0, 2)) await page.locator(`[data-run-id="${id}"] [data-testid="select-run"]`).check();
    const bar = page.getByTestId('bulk-retry-bar');
    await expect(bar).toContainText('2 failed runs selected');
    await page.getByTestId('bulk-retry-version').selectOption('latest');
    await page.getByTestId('bulk-retry').click();
    await expect(page.getByRole('status')).toContainText('Retried 2 runs');
    await expect(bar).toBeHidden();
    // The two retries appear in the list, and succeed on version 2.
    await expect(rows).toHaveCount(5);
    const all = (await server.api('GET', `/runs?flow_id=${flow.id}`)).body.runs;
    const retries = all.filter((r) => r.retry_of);
    assert.deepEqual(retries.map((r) => r.retry_of).sort(), failed.slice(0, 2).sort());
    for (const r of retries) assert.equal(r.flow_version, 2);
    await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(2);
    // A succeeded run has no checkbox.
    await expect(page.locator('[data-testid="run-row"][data-status="succeeded"] [data-testid="select-run"]')).toHaveCount(0);
  });
});

test('Webhooks page: Run again with this payload, on an inactive flow', async () => {
  const flow = (await server.api('POST', '/flows', {
    name: 'Replay hook',
    trigger: { type: 'webhook' },
    steps: [{ id: 'echo', uses: 'data.set', with: { value: 'order {{ trigger.body.order }}' } }],
  })).body;
  assert.equal((await server.api('POST', `/flows/${flow.id}/activate`)).status, 200);
  const sent = await fetch(flow.webhook_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order: 'B-9' }) });
  assert.equal(sent.status, 202);
  const firstRun = (await sent.json()).run_id;
  assert.equal((await server.api('POST', `/flows/${flow.id}/deactivate`)).status, 200);

  await withPage(server, 'replay-delivery', async ({ page }) => {
    await page.goto(`/webhooks?flow_id=${flow.id}`);
    const row = page.getByTestId('delivery-row');
    await expect(row).toHaveCount(1);
    await row.first().click();
    const detail = page.getByTestId('delivery-detail');
    await expect(detail).toContainText('B-9');
    await detail.getByTestId('replay-delivery').click();
    await page.waitForURL((u) => /\/runs\/[^/]+$/.test(u.pathname) && !u.pathname.endsWith(firstRun));
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
    const id = new URL(page.url()).pathname.split('/').pop();
    const run = (await server.api('GET', `/runs/${id}`)).body;
    assert.equal(run.trigger.body.order, 'B-9');
    assert.ok(run.trigger.replayed_from, JSON.stringify(run.trigger));
    assert.equal(run.steps.find((s) => s.path === 'echo').output, 'order B-9');
  });
});
