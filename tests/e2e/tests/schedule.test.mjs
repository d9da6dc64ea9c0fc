// Build a scheduled flow with each of the four schedule options and see the
// live preview (next fire times and the plain-English description); a broken
// cron shows its error inline; the saved, active flow shows its next run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser, missingRoutes } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

/** Waits until the preview shows `description` and `count` next times; returns the times' datetime attributes. */
async function previewShows(page, description, count) {
  await expect(page.getByTestId('schedule-description')).toHaveText(description);
  const items = page.getByTestId('schedule-next').locator('li');
  await expect(items).toHaveCount(count);
  return items.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
}

test('schedule card: Predefined, One-Time, Custom and Advanced each preview; cron errors inline', async (t) => {
  const missing = await missingRoutes(server, ['POST /api/v1/schedules/preview']);
  assert.deepEqual(missing, [], `the server lacks ${missing.join(', ')}`);
  await withPage(server, 'schedule', async ({ page }) => {
    await page.goto('/flows/new');
    await page.getByTestId('flow-name-input').fill('Nightly report');
    await page.getByRole('radio', { name: 'Schedule' }).check();
    await expect(page.getByTestId('schedule-editor')).toBeVisible();

    // Time zone: searchable picker.
    const tz = page.locator('#schedule-timezone');
    await tz.fill('paris');
    await page.getByRole('option', { name: /Europe\/Paris/ }).click();
    await expect(tz).toHaveValue('Europe/Paris');
    await expect(page.getByTestId('schedule-preview')).toContainText('in Europe/Paris');

    // 1. Predefined.
    await page.locator('#schedule-kind').selectOption('predefined');
    await page.locator('#schedule-every').selectOption('1h');
    let next = await previewShows(page, /^Every hour/, 5);
    for (const n of next) assert.match(n, /T\d\d:00:00\+0[12]:00$/, `hourly fire at ${n} in Paris time`);

    // A start after the One-Time's date below: One-Time has no Start field, so it must not keep it.
    await page.locator('#schedule-start').fill('2031-01-01T00:00:00');
    await previewShows(page, /^Every hour/, 5);

    // 2. One-Time.
    await page.locator('#schedule-kind').selectOption('once');
    await expect(page.getByTestId('schedule-preview')).toContainText('Pick a date and time');
    await page.locator('#schedule-at').fill('2030-01-02T03:04');
    next = await previewShows(page, /^Once at 2030-01-02 03:04/, 1);
    assert.equal(next[0], '2030-01-02T03:04:00+01:00');

    // 3. Custom: set times on weekdays (the default), then an interval between two times.
    await page.locator('#schedule-kind').selectOption('custom');
    await previewShows(page, /^At 09:00 on Monday through Friday/, 5);
    await page.getByRole('group', { name: 'Days of the week' }).getByText('Sat').click();
    await previewShows(page, /^At 09:00 on Monday through Saturday/, 5);
    await page.getByLabel('Every interval, between two times').check();
    await page.locator('#custom-every').selectOption('2h');
    await previewShows(page, /^Every 2 hours between 08:00 and 18:00/, 5);

    // 4. Advanced (cron).
    await page.locator('#schedule-kind').selectOption('cron');
    const cron = page.locator('#schedule-cron');
    await cron.fill('30 6 * * 1');
    next = await previewShows(page, /^At 06:30 on Monday\b/, 5);
    for (const n of next) assert.match(n, /T06:30:00\+0[12]:00$/);
    // A broken cron: the error is shown on the field, with the server's words.
    await cron.fill('0 9 * * MOX');
    const fieldError = page.locator('.field-invalid .field-error').first();
    await expect(fieldError).toContainText('day-of-week');
    await expect(fieldError).toContainText('MOX');
    await expect(page.getByTestId('schedule-description')).toHaveCount(0);
    await cron.fill('0 9 * * MON-FRI');
    await previewShows(page, /^At 09:00 on Monday through Friday/, 5);

    // Save, activate: the flow list shows the next run in the schedule's zone.
    await page.getByTestId('save-flow').click();
    await page.waitForURL((u) => /^\/flows\/[^/]+$/.test(u.pathname) && u.pathname !== '/flows/new'); // the save's redirect, not /flows/new
    const toggle = page.getByTestId('editor-active-toggle');
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-checked', 'true');
    // The detail panel names the next run, in the schedule's zone.
    await page.getByRole('button', { name: 'Details' }).click();
    await expect(page.getByTestId('detail-next-run')).toContainText(/09:00 AM GMT\+1/);
    await page.getByRole('navigation').getByRole('link', { name: 'Flows', exact: true }).click();
    const row = page.locator('[data-testid=flow-row][data-flow-name="Nightly report"]');
    await expect(row.getByTestId('next-run')).toBeVisible();
    await expect(row.getByTestId('next-run')).toContainText('09:00');
    assert.equal(await row.getByRole('switch').isChecked(), true);
  });
});
