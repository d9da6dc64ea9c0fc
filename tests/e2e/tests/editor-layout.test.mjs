// The editor as a first user meets it: a connection made from the step panel's
// "New" lands in the step without a reload (the unsaved flow is kept); the page
// itself never scrolls (Save and the canvas stay on screen while the side panel
// scrolls inside); the Run button never covers the side panel's fields.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
let upstream;
let upstreamUrl;
before(async () => {
  upstream = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url }));
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

const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('a connection created from the step panel is chosen in the step, the flow kept unsaved', async () => {
  await withPage(server, 'editor-new-connection', async ({ page }) => {
    await page.goto('/flows/new');
    await page.getByTestId('flow-name-input').fill('Orders');
    await page.getByTestId('add-step').first().click();
    await page.getByTestId('palette').getByRole('searchbox').fill('http');
    await page.getByTestId('palette-item-http.request').click();
    const form = page.getByTestId('step-form');
    const stepId = await form.getAttribute('data-step-id');
    await page.locator(`#step-${stepId}-url`).fill('/orders');

    // "New" opens the connection form in place: no new tab, no navigation.
    const pagesBefore = page.context().pages().length;
    await form.getByTestId('step-new-connection').click();
    const dialog = page.getByTestId('connection-form');
    await expect(dialog).toBeVisible();
    await expect(page.locator('#conn-connector')).toHaveValue('http');
    await page.locator('#conn-name').fill('orders-api');
    await page.locator('#conn-settings-base_url').fill(upstreamUrl);
    await dialog.getByTestId('save-connection').click();
    await expect(dialog).toHaveCount(0);
    assert.equal(page.context().pages().length, pagesBefore);
    assert.equal(new URL(page.url()).pathname, '/flows/new');

    // The new connection is in the list and chosen; what was typed is still there.
    await expect(page.locator(`#step-${stepId}-connection`)).toHaveValue('orders-api');
    await expect(page.locator(`#step-${stepId}-url`)).toHaveValue('/orders');
    await expect(page.getByTestId('flow-name-input')).toHaveValue('Orders');
    await expect(page.getByTestId('unsaved-indicator')).toBeVisible();

    await page.getByTestId('save-flow').click();
    await page.waitForURL((u) => /^\/flows\/[^/]+$/.test(u.pathname) && u.pathname !== '/flows/new');
    const flowId = page.url().split('/').pop();
    const flow = await server.api('GET', `/flows/${flowId}`);
    assert.equal(flow.body.steps[0].connection, 'orders-api');
    const run = await server.api('POST', `/flows/${flowId}/runs?wait=10s`, {});
    assert.equal(run.body?.status, 'succeeded', JSON.stringify(run.body?.error ?? run.body));
  });
});

test('the editor fills the window: Save stays on screen, the Run button covers no field', async () => {
  const steps = [];
  for (let i = 0; i < 12; i++) steps.push({ id: `s${i}`, uses: 'data.set', with: { value: `v${i}` } });
  steps.push({ id: 'call', uses: 'http.request', with: { method: 'GET', url: `${upstreamUrl}/x` } });
  const created = await server.api('POST', '/flows', { name: 'Long flow', description: 'Many steps', steps });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const flowId = created.body.id;
  for (let i = 0; i < 3; i++) {
    const r = await server.api('POST', `/flows/${flowId}/runs?wait=10s`, {});
    assert.equal(r.body?.status, 'succeeded', JSON.stringify(r.body));
  }

  await withPage(
    server,
    'editor-layout',
    async ({ page }) => {
      await page.goto(`/flows/${flowId}`);
      const side = page.locator('aside.side');
      await expect(page.getByTestId('detail-panel')).toBeVisible();
      await expect(page.locator('.recent-runs li')).toHaveCount(3);
      const vh = page.viewportSize().height;

      // The detail panel is longer than the window: it scrolls, the page does not.
      const sizes = await side.evaluate((el) => ({ scroll: el.scrollHeight, client: el.clientHeight }));
      assert.ok(sizes.scroll > sizes.client, `the detail panel should overflow here (${JSON.stringify(sizes)})`);
      const sb = await side.boundingBox();
      await page.mouse.move(sb.x + sb.width / 2, sb.y + sb.height / 2);
      for (let i = 0; i < 10; i++) await page.mouse.wheel(0, 400);
      await page.waitForFunction(() => {
        const el = document.querySelector('aside.side');
        return el && Math.abs(el.scrollHeight - el.clientHeight - el.scrollTop) < 2;
      });
      assert.equal(await page.evaluate(() => window.scrollY), 0, 'the page itself scrolled');
      assert.ok(await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight + 1), 'the page is taller than the window');
      const save = await page.getByTestId('save-flow').boundingBox();
      assert.ok(save && save.y >= 0 && save.y + save.height <= vh, `Save left the screen: ${JSON.stringify(save)}`);
      const canvas = await page.locator('section.canvas').boundingBox();
      assert.ok(canvas.y >= 0 && canvas.y + canvas.height <= vh + 1, `the canvas left the screen: ${JSON.stringify(canvas)}`);

      // The last step's form scrolled to its end: the Run button is clear of every field.
      await page.locator('[data-testid=step-card][data-step-id=call]').click();
      await page.getByTestId('step-form').getByText('Retries, timeout and errors').click();
      await side.evaluate((el) => (el.scrollTop = el.scrollHeight));
      const run = await page.getByTestId('run-flow').boundingBox();
      assert.ok(run, 'no Run button');
      const fields = side.locator('input:visible, select:visible, textarea:visible, button:visible');
      const n = await fields.count();
      assert.ok(n > 5);
      for (let i = 0; i < n; i++) {
        const b = await fields.nth(i).boundingBox();
        if (b && b.y < vh) assert.ok(!overlap(run, b), `the Run button covers field ${i} (${await fields.nth(i).evaluate((e) => e.id || e.outerHTML.slice(0, 80))})`);
      }
      const last = await fields.nth(n - 1).boundingBox();
      assert.ok(!overlap(run, last), 'the Run button covers the last field');
      // Halfway too, where a field sits at the bottom of the window.
      await side.evaluate((el) => (el.scrollTop = el.scrollHeight / 3));
      const run2 = await page.getByTestId('run-flow').boundingBox();
      for (let i = 0; i < n; i++) {
        const b = await fields.nth(i).boundingBox();
        if (b && b.y < vh && b.y + b.height > 0) assert.ok(!overlap(run2, b), `the Run button covers field ${i} after scrolling`);
      }
      assert.equal(await page.evaluate(() => window.scrollY), 0);
    },
    { viewport: { width: 1280, height: 560 } },
  );
});
