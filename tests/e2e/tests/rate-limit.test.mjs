// The connection form's rate-limit override: a connector whose manifest has a
// default (the built-in Slack: 50 per 60s, 10 at once) shows it as the
// placeholders; a bad value is refused at its field; the override is saved
// in settings.rate_limit and shown again when the connection is edited; a
// connector without a default (http) shows no such fields.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

test('rate limit: the manifest default as placeholders, an override saved and shown again', async () => {
  const cat = await server.api('GET', '/connectors');
  const slack = cat.body.connectors.find((c) => c.name === 'slack');
  assert.deepEqual(slack?.rate_limit, { requests: 50, per: '60s', burst: 10 });
  await withPage(server, 'rate-limit', async ({ page }) => {
    await page.goto('/connections');
    await page.getByTestId('new-connection').first().click();
    await page.locator('#conn-connector').selectOption('http');
    await expect(page.getByTestId('rate-limit')).toBeHidden();
    await page.locator('#conn-connector').selectOption('slack');
    const fields = page.getByTestId('rate-limit');
    await expect(fields).toContainText('50 requests per 60s, 10 at once');
    assert.equal(await page.locator('#conn-rate-requests').getAttribute('placeholder'), '50');
    assert.equal(await page.locator('#conn-rate-per').getAttribute('placeholder'), '60s');
    assert.equal(await page.locator('#conn-rate-burst').getAttribute('placeholder'), '10');

    await page.locator('#conn-name').fill('team-slack');
    await page.locator('#conn-auth-token').fill('xoxb-test');
    await page.locator('#conn-rate-requests').fill('5');
    await page.locator('#conn-rate-per').fill('soon');
    await page.getByTestId('save-connection').click();
    await expect(fields.locator('.field-error')).toContainText('duration');
    await page.locator('#conn-rate-per').fill('1s');
    await page.locator('#conn-rate-burst').fill('2');
    await page.getByTestId('save-connection').click();
    await expect(page.getByTestId('connection-form')).toBeHidden();

    const list = await server.api('GET', '/connections');
    const saved = list.body.connections.find((c) => c.name === 'team-slack');
    assert.deepEqual(saved?.settings?.rate_limit, { requests: 5, per: '1s', burst: 2 });

    // Edited again: the override is shown; cleared, the default applies again.
    await page.reload();
    const row = page.locator('[data-testid=connection-row][data-connection-name=team-slack]');
    await row.getByTestId('connection-gear').click();
    await page.getByRole('menuitem', { name: 'Edit' }).click();
    await expect(page.locator('#conn-rate-requests')).toHaveValue('5');
    await expect(page.locator('#conn-rate-per')).toHaveValue('1s');
    await expect(page.locator('#conn-rate-burst')).toHaveValue('2');
    for (const id of ['#conn-rate-requests', '#conn-rate-per', '#conn-rate-burst']) await page.locator(id).fill('');
    await page.getByTestId('save-connection').click();
    await expect(page.getByTestId('connection-form')).toBeHidden();
    const after = await server.api('GET', '/connections');
    const cleared = after.body.connections.find((c) => c.name === 'team-slack');
    assert.equal(cleared?.settings?.rate_limit, undefined);
  });
});
