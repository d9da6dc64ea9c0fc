// Test step: pinned sample data typed in the Detail panel and saved with the
// flow; a pure step tested against it shows its output inline; a step with
// side effects asks once; a past run picked in the data panel as the sample;
// no run recorded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
let upstream;
let upstreamUrl;
let hits = 0;
before(async () => {
  upstream = http.createServer((req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ greeting: 'hi from upstream' }));
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
  server = await startServer();
});
after(async () => {
  await closeBrowser();
  await server?.stop();
  upstream?.close();
});

test('test a step against pinned data and the last run, no run recorded', async () => {
  const created = await server.api('POST', '/flows', {
    name: 'Greeter',
    steps: [
      { id: 'who', uses: 'data.set', with: { value: '{{ trigger.body.name }}' } },
      { id: 'greet', uses: 'data.set', with: { value: 'Hello {{ steps.who.output }}' } },
      { id: 'call', uses: 'http.request', with: { method: 'GET', url: `${upstreamUrl}/ping` } },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const flowId = created.body.id;
  const runCount = async () => (await server.api('GET', `/runs?flow_id=${flowId}`)).body.runs.length;

  await withPage(server, 'test-step', async ({ page }) => {
    await page.goto(`/flows/${flowId}`);
    const card = (id) => page.locator(`[data-testid=step-card][data-step-id=${id}]`);
    const result = page.getByTestId('test-step-result');

    // Pin sample data in the Detail panel and save it with the flow.
    await page.locator('#flow-sample').fill(JSON.stringify({ trigger: { body: { name: 'Ada' } }, steps: { who: { output: 'Ada Lovelace' } } }));
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
    const saved = await server.api('GET', `/flows/${flowId}`);
    assert.equal(saved.body.sample?.trigger?.body?.name, 'Ada');

    // A pure step: its output inline, read from the pinned trigger.
    await card('who').click();
    await expect(page.getByTestId('sample-active')).toContainText('pinned sample data');
    await expect(page.getByTestId('test-step-sample')).toContainText('pinned sample data');
    await page.getByTestId('test-step-button').click();
    await expect(result).toHaveAttribute('data-status', 'succeeded');
    await expect(page.getByTestId('test-step-output')).toContainText('Ada');

    // The next step reads the pinned output of the first.
    await card('greet').click();
    await page.getByTestId('test-step-button').click();
    await expect(page.getByTestId('test-step-output')).toContainText('Hello Ada Lovelace');

    // An http.request asks first, once.
    await card('call').click();
    await page.getByTestId('test-step-button').click();
    const dialog = page.getByTestId('confirm-dialog');
    await expect(dialog).toContainText('http.request');
    assert.equal(hits, 0);
    await dialog.getByRole('button', { name: 'Test it' }).click();
    await expect(page.getByTestId('test-step-output')).toContainText('hi from upstream');
    assert.equal(hits, 1);
    await page.getByTestId('test-step-button').click();
    await expect(dialog).toHaveCount(0);
    await expect(page.getByTestId('test-step-output')).toContainText('hi from upstream');
    assert.equal(hits, 2);
    assert.equal(await runCount(), 0, 'testing steps created a run');

    // A real run, then the last run's data as the sample.
    const run = await server.api('POST', `/flows/${flowId}/runs?wait=10s`, { input: { name: 'Grace' } });
    assert.equal(run.body?.status, 'succeeded', JSON.stringify(run.body));
    await page.reload();
    await card('greet').click();
    // The data panel's sample: pinned data stays the default; a past run is chosen from the last 20.
    await expect(page.getByTestId('sample-active')).toContainText('pinned sample data');
    await expect(page.locator(`#sample-source option[value="run:${run.body.id}"]`)).toHaveCount(1);
    await page.getByTestId('sample-source').selectOption(`run:${run.body.id}`);
    await expect(page.getByTestId('sample-active')).toContainText(`run ${run.body.id.slice(-8)}`);
    // The tree shows that run's trigger and the earlier step's output.
    await expect(page.getByTestId('data-panel')).toContainText('"Grace"');
    await page.getByTestId('test-step-button').click();
    await expect(page.getByTestId('test-step-output')).toContainText('Hello Grace');
    assert.equal(await runCount(), 1);
  });
});
