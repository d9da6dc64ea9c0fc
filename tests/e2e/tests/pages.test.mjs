// Every page loads against the real server without a console error, at
// 1280×800 and on a narrow (phone-sized) window, and says what it is.
import { test, before, after } from 'node:test';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
let flowId;
before(async () => {
  server = await startServer();
  const f = await server.api('POST', '/flows', { name: 'Smoke', steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }] });
  flowId = f.body.id;
  await server.api('POST', `/flows/${flowId}/runs?wait=10s`, {});
});
after(async () => { await closeBrowser(); await server?.stop(); });

const PAGES = [
  ['/', 'Flows'],
  [() => `/flows/${flowId}`, 'Set data'],
  ['/flows/new', 'Trigger'],
  ['/connections', 'Connections'],
  ['/connectors', 'Mailchimp Transactional'],
  ['/runs', 'Process Log'],
  ['/webhooks', 'Webhooks'],
  ['/settings', 'Settings'],
  ['/no/such/page', /not found/i],
];

for (const [name, viewport] of [['wide', { width: 1280, height: 800 }], ['narrow', { width: 390, height: 800 }]]) {
  test(`every page loads without console errors (${name})`, async () => {
    await withPage(server, `pages-${name}`, async ({ page }) => {
      for (const [p, heading] of PAGES) {
        const url = typeof p === 'function' ? p() : p;
        await page.goto(url);
        await expect(page.locator('main, #root').first()).toContainText(heading);
        await expect(page.getByTestId('loading')).toHaveCount(0);
      }
      // The run page, reached from the Process Log.
      await page.goto('/runs');
      await page.getByTestId('run-row').first().click();
      await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
    }, { viewport });
  });
}
