// A "New data" flow built in the editor against a real local SFTP server
// (OpenSSH sshd started by the test): the source, its connection and its
// generated inputs, Check now (save first; then it lists the matching files,
// a dry run), activate, and a file dropped afterwards gives one run in the
// Process Log while the files there before activating give none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, withPage, closeBrowser, missingRoutes } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';
import { startSshd } from '../lib/sshd.mjs';

let server;
let sshd;

before(async () => {
  server = await startServer();
  sshd = await startSshd();
});
after(async () => {
  await closeBrowser();
  await server?.stop();
  await sshd?.stop();
});

/** The flow's runs, from the API. */
async function runsOf(flowId) {
  const r = await server.api('GET', `/runs?flow_id=${flowId}&limit=100`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.runs;
}

test('New data: an SFTP folder, Check now lists the files, a file dropped after activating runs once', async () => {
  const missing = await missingRoutes(server, ['POST /api/v1/flows/{id}/poll/check', 'POST /api/v1/connections']);
  assert.deepEqual(missing, [], `the server lacks ${missing.join(', ')}`);
  const inbox = path.join(sshd.files, 'in');
  mkdirSync(inbox);
  writeFileSync(path.join(inbox, 'orders-1.csv'), 'id,total\n1,40\n');
  writeFileSync(path.join(inbox, 'orders-2.csv'), 'id,total\n2,25\n3,15\n');
  writeFileSync(path.join(inbox, 'readme.txt'), 'not a csv');
  const conn = await server.api('POST', '/connections', {
    name: 'retailer-drop',
    connector: 'sftp',
    settings: { host: '127.0.0.1', port: sshd.port },
    auth: { type: 'private_key', username: sshd.user, private_key: sshd.privateKey },
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.body));

  await withPage(server, 'poll', async ({ page }) => {
    await page.goto('/flows/new');
    await page.getByTestId('flow-name-input').fill('Retailer orders');
    await page.getByRole('radio', { name: 'New data' }).check();
    await expect(page.getByTestId('poll-form')).toBeVisible();
    // The sources come from the catalog: both file sources are offered.
    const sources = await page.locator('#poll-source option').evaluateAll((os) => os.map((o) => o.value));
    assert.ok(sources.includes('sftp.new_files') && sources.includes('ftp.new_files'), `sources offered: ${sources}`);
    await page.locator('#poll-source').selectOption('sftp.new_files');
    // Only sftp connections are offered.
    await page.locator('#poll-connection').selectOption('retailer-drop');
    // The source's inputs, drawn from its declared fields; the folder is required.
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('save-error')).toBeVisible();
    await page.getByTestId('trigger-card').getByRole('button', { name: /Trigger/ }).click();
    await expect(page.locator('#poll-folder')).toHaveAttribute('aria-invalid', 'true');
    assert.match(page.url(), /\/flows\/new$/, 'not saved');
    await page.locator('#poll-folder').fill(inbox);
    await page.locator('#poll-pattern').fill('*.csv');
    // Every: the full schedule editor (without One-Time) or a duration.
    await page.locator('#poll-every-mode').selectOption('schedule');
    await expect(page.getByTestId('schedule-editor')).toBeVisible();
    const kinds = await page.locator('#schedule-kind option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(kinds, ['predefined', 'custom', 'cron']);
    await page.locator('#schedule-every').selectOption('1h');
    await expect(page.getByTestId('schedule-description')).toHaveText(/^Every hour/);
    await expect(page.getByTestId('trigger-card')).toContainText('on a schedule · sftp.new_files');
    await page.locator('#poll-every-mode').selectOption('interval');
    await expect(page.getByTestId('schedule-editor')).toHaveCount(0);
    await page.locator('#poll-every').fill('1s');
    await expect(page.locator('#poll-start')).toHaveValue('new');
    // Check now needs a saved flow.
    assert.equal(await page.getByTestId('poll-check-button').isDisabled(), true, 'Check now is disabled before the first save');
    await expect(page.getByTestId('poll-check-note')).toContainText('Save first');
    await expect(page.getByTestId('trigger-card')).toContainText('every 1s · sftp.new_files');

    // A step that reads the item.
    await page.getByTestId('add-step').first().click();
    await page.getByTestId('palette-item-data.set').click();
    const card = page.getByTestId('step-card').first();
    const stepId = await card.getAttribute('data-step-id');
    await page.locator(`#step-${stepId}-value`).fill('{{ trigger.item.name }}');

    await page.getByTestId('save-flow').click();
    await page.waitForURL(/\/flows\/(?!new$)[^/]+$/);
    const flowId = page.url().split('/').pop();
    assert.notEqual(flowId, 'new');
    const saved = await server.api('GET', `/flows/${flowId}`);
    assert.deepEqual(saved.body.trigger.poll.source, { uses: 'sftp.new_files', connection: 'retailer-drop', with: { folder: inbox, pattern: '*.csv' } });
    assert.equal(saved.body.trigger.poll.every, '1s');

    // Check now: the two CSV files, not the text file; nothing is run or remembered.
    await page.getByTestId('trigger-card').getByRole('button', { name: /Trigger/ }).click();
    await page.getByTestId('poll-check-button').click();
    const items = page.getByTestId('poll-item');
    await expect(items).toHaveCount(2);
    const names = await items.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-item-name')).sort());
    assert.deepEqual(names, ['orders-1.csv', 'orders-2.csv']);
    await expect(page.getByTestId('poll-check-result')).toContainText('The next poll would pick 2 items');
    await expect(items.nth(0)).toContainText(/\d+ B/);
    // The modification time as the server listed it (SFTP gives "Dec 7 13:08", no year).
    const listed = (await server.api('POST', `/flows/${flowId}/poll/check`)).body.items.find((i) => i.item.name === 'orders-1.csv');
    const modified = listed.item.modified;
    await expect(page.locator('[data-testid=poll-item][data-item-name="orders-1.csv"]')).toContainText(
      /^\d{4}-/.test(modified) ? String(new Date(modified).getUTCFullYear()) : modified,
    );
    // start: new, so the first poll after activating takes these as seen without runs.
    await expect(page.getByTestId('poll-check-baseline')).toBeVisible();
    assert.equal((await runsOf(flowId)).length, 0, 'Check now starts no run');
    await page.getByTestId('poll-check-button').click();
    await expect(items).toHaveCount(2); // still new: the check recorded nothing

    // Activate; wait for the baseline poll (Check now then finds nothing new, 2 already seen).
    await page.getByTestId('editor-active-toggle').click();
    await expect(page.getByTestId('editor-active-toggle')).toHaveAttribute('aria-checked', 'true');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const c = await server.api('POST', `/flows/${flowId}/poll/check`);
      assert.equal(c.status, 200, JSON.stringify(c.body));
      if (!c.body.baseline && c.body.items.length === 0) break;
      assert.ok(Date.now() < deadline, `the first poll did not happen in 20s: ${JSON.stringify(c.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.getByTestId('poll-check-button').click();
    await expect(page.getByTestId('poll-check-result')).toContainText('Nothing new');
    await expect(page.getByTestId('poll-check-result')).toContainText('2 already seen');

    // A new file: one run, in the Process Log, that read the file's name.
    writeFileSync(path.join(inbox, 'orders-3.csv'), 'id,total\n4,99\n');
    const until = Date.now() + 20_000;
    while ((await runsOf(flowId)).length === 0) {
      assert.ok(Date.now() < until, 'no run 20s after the file was dropped');
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.getByRole('navigation').getByRole('link', { name: 'Process Log' }).click();
    const row = page.getByTestId('run-row').filter({ hasText: 'Retailer orders' });
    await expect(row).toHaveCount(1);
    await expect(row.first(), { timeout: 20_000 }).toHaveAttribute('data-status', 'succeeded');
    await row.first().click();
    await expect(page.getByTestId('run-page')).toContainText('orders-3.csv');
    const runs = await runsOf(flowId);
    assert.equal(runs.length, 1, `one run for the one new file: ${JSON.stringify(runs.map((r) => r.trigger))}`);
    assert.equal(runs[0].trigger.item.name, 'orders-3.csv');

    // A source that fails (a folder that is not there): Check now shows the error.
    const broken = await server.api('POST', '/flows', {
      name: 'Missing folder',
      trigger: { type: 'poll', poll: { every: '1m', source: { uses: 'sftp.new_files', connection: 'retailer-drop', with: { folder: path.join(sshd.files, 'no-such-folder') } } } },
      steps: [],
    });
    assert.equal(broken.status, 201, JSON.stringify(broken.body));
    await page.goto(`/flows/${broken.body.id}`);
    await page.getByTestId('trigger-card').getByRole('button', { name: /Trigger/ }).click();
    await page.getByTestId('poll-check-button').click();
    await expect(page.getByTestId('poll-check-error')).toContainText('no-such-folder');
    assert.equal(await page.getByTestId('poll-check-result').count(), 0);

    // The Flow List shows the trigger as New data.
    await page.getByRole('navigation').getByRole('link', { name: 'Flows', exact: true }).click();
    const flowRow = page.locator(`[data-testid="flow-row"][data-flow-id="${flowId}"]`);
    await expect(flowRow.getByTestId('trigger-new-data')).toHaveText(/NEW DATA/);
  }, { allowErrors: [/status of 502/] }); // the failed check (step_failed) is answered 502
});
