// Run a manual flow with the Run button and watch the live log: steps change
// status as the server streams them (SSE), the log lines appear as they happen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser, missingRoutes } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

async function addStep(page, uses, search) {
  await page.getByTestId('add-step').last().click();
  await page.getByTestId('palette').getByRole('searchbox').fill(search);
  await page.getByTestId(`palette-item-${uses}`).click();
  const form = page.getByTestId('step-form');
  await expect(form).toBeVisible();
  return form.getAttribute('data-step-id');
}

test('manual flow: Run button streams the run live', async (t) => {
  const missing = await missingRoutes(server, ['POST /api/v1/flows/{id}/runs', 'GET /api/v1/runs/{id}/events']);
  assert.deepEqual(missing, [], `the server lacks ${missing.join(', ')}`);
  await withPage(server, 'manual-run', async ({ page }) => {
    await page.goto('/flows/new');
    await page.getByTestId('flow-name-input').fill('Greeter');
    // Manual is the default trigger.
    await expect(page.getByRole('radio', { name: 'Manual' })).toBeVisible();
    assert.equal(await page.getByRole('radio', { name: 'Manual' }).isChecked(), true);

    const hello = await addStep(page, 'log.write', 'log');
    await page.locator(`#step-${hello}-message`).fill('hello {{ trigger.body.who }}');
    const wait = await addStep(page, 'flow.delay', 'delay');
    await page.locator(`#step-${wait}-duration`).fill('1500ms');
    const bye = await addStep(page, 'log.write', 'log');
    await page.locator(`#step-${bye}-message`).fill('bye {{ trigger.body.who }}');
    await expect(page.getByTestId('step-card')).toHaveCount(3);

    await page.keyboard.press('Control+s');
    await page.waitForURL((u) => /^\/flows\/[^/]+$/.test(u.pathname) && u.pathname !== '/flows/new'); // the save's redirect, not /flows/new
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);

    await page.getByTestId('run-flow').click();
    await page.locator('#run-input').fill('{"who": "Ada"}');
    await page.getByTestId('start-run').click();
    const live = page.getByTestId('run-live');
    const log = live.getByTestId('live-log');

    // While the delay step runs, the first step's log line is already there and the
    // last step has not started: the log is live, not read after the fact.
    await expect(live.getByTestId(`step-run-${wait}`)).toHaveAttribute('data-status', 'running');
    await expect(log).toContainText('hello Ada');
    assert.equal(await log.textContent().then((s) => s.includes('bye Ada')), false, 'bye logged before the delay ended');
    await expect(live.getByText('live', { exact: true })).toBeVisible();

    // Then the rest streams in and the run finishes.
    await expect(live.getByTestId(`step-run-${bye}`)).toHaveAttribute('data-status', 'succeeded');
    await expect(log).toContainText('bye Ada');
    await expect(log).toContainText('run succeeded');
    await expect(live.getByTestId(`step-run-${wait}`)).toHaveAttribute('data-status', 'succeeded');
    await expect(live.getByTestId(`step-run-${hello}`)).toHaveAttribute('data-status', 'succeeded');

    // The run's own page agrees.
    await live.getByRole('link', { name: 'Open in Process Log' }).click();
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');
    await expect(page.getByTestId('step-timeline').locator('[data-testid^=step-run-][data-status=succeeded]')).toHaveCount(3);
  });
});
