// The Process Log's time filter asks the server (GET /runs?since=&until=):
// a window in the future shows no run, "Last hour" shows them all, and a
// custom range around the runs shows them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => {
  server = await startServer();
  const flow = (await server.api('POST', '/flows', { name: 'Timed', steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }] })).body;
  for (let i = 0; i < 2; i++) {
    const r = await server.api('POST', `/flows/${flow.id}/runs?wait=10s`, {});
    assert.equal(r.body?.status, 'succeeded', JSON.stringify(r.body));
  }
});
after(async () => { await closeBrowser(); await server?.stop(); });

// "2026-11-28T09:30" in the browser's zone, as datetime-local wants it.
async function localInput(page, offsetMs) {
  return page.evaluate((off) => {
    const d = new Date(Date.now() + off);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }, offsetMs);
}

test('Process Log: the time filter is answered by the server', async () => {
  await withPage(server, 'process-log-time', async ({ page }) => {
    await page.goto('/runs');
    const rows = page.getByTestId('run-row');
    await expect(rows).toHaveCount(2);

    const asked = page.waitForRequest((r) => r.url().includes('/api/v1/runs?') && r.url().includes('since='));
    await page.getByLabel('Filter by time').selectOption('1h');
    const url = new URL((await asked).url());
    assert.ok(!Number.isNaN(Date.parse(url.searchParams.get('since'))), url.toString());
    await expect(rows).toHaveCount(2);

    // A custom range that starts in an hour holds nothing; one around now holds both.
    await page.getByLabel('Filter by time').selectOption('custom');
    await page.getByLabel('Runs from').fill(await localInput(page, 3600e3));
    await expect(rows).toHaveCount(0);
    await expect(page.getByText('No run matches these filters.')).toBeVisible();
    await page.getByLabel('Runs from').fill(await localInput(page, -3600e3));
    await page.getByLabel('Runs until').fill(await localInput(page, 3600e3));
    await expect(rows).toHaveCount(2);
    assert.match(page.url(), /since=custom/);
  });
});
