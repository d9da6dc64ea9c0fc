// Access control in the browser: a user made with the CLI signs in
// through the sign-in page, sees the Flow List, changes something (the CSRF
// header on writes), makes an API token that is shown once, and signs out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, withPage, closeBrowser, weftBin } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

const PASSWORD = 'e2e-password-123';
let server;

before(async () => {
  server = await startServer();
  // Open mode: the first flow before anybody signs in, then the first user (the
  // server holds the data dir, so the CLI goes through its API).
  const f = await server.api('POST', '/flows', { name: 'Before sign-in', steps: [{ id: 'a', uses: 'data.set', with: { value: 1 } }] });
  assert.equal(f.status, 201);
  const add = spawnSync(weftBin, ['user', 'add', 'ann', '--role', 'admin', '--password-stdin', '--server', server.url], {
    input: `${PASSWORD}\n`,
    encoding: 'utf8',
  });
  assert.equal(add.status, 0, `weft user add: ${add.stdout}${add.stderr}`);
  const me = await server.api('GET', '/me');
  assert.equal(me.status, 401, 'a user exists: the API now needs sign-in');
});
after(async () => { await closeBrowser(); await server?.stop(); });

test('sign in, see the Flow List, make a token, sign out', async () => {
  await withPage(server, 'auth-sign-in', async ({ page }) => {
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

    // A wrong password says so without saying whether the name exists.
    await page.getByLabel('Username').fill('ann');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('login-error')).toContainText('invalid username or password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    await expect(page.locator('main')).toContainText('Before sign-in');
    await expect(page.getByTestId('current-user')).toContainText('ann');
    await expect(page.getByTestId('open-mode-note')).toHaveCount(0);

    // The session cookie is HttpOnly: no script can read it.
    assert.equal(await page.evaluate(() => document.cookie.includes('weft_session')), false);

    // A change goes through (the UI sends X-CSRF-Token): an API token, shown once.
    await page.goto('/settings');
    await expect(page.getByTestId('users-table')).toContainText('ann');
    await page.getByLabel('Name', { exact: true }).fill('e2e-ci');
    await page.getByTestId('create-token').click();
    await expect(page.getByTestId('new-token-value')).toContainText('wft_');
    const token = (await page.getByTestId('new-token-value').textContent()).trim();
    await expect(page.getByTestId('tokens-table')).toContainText('e2e-ci');
    const r = await fetch(`${server.url}/api/v1/flows`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    await page.reload();
    await expect(page.getByTestId('tokens-table')).toContainText('e2e-ci');
    await expect(page.getByTestId('new-token-value')).toHaveCount(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto('/');
    await page.waitForURL(/\/login/);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  });
});
