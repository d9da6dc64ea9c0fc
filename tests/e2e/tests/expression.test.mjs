// Edit a step to a broken expression: the field shows the error inline with its
// position as the user types (POST /expressions/evaluate), the offending place
// is marked, Save is refused with the error on the card and field, and fixing
// it brings the preview against the last run back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser, missingRoutes } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

test('broken expression: inline error with its position, refused save, preview after the fix', async (t) => {
  const missing = await missingRoutes(server, ['POST /api/v1/expressions/evaluate']);
  assert.deepEqual(missing, [], `the server lacks ${missing.join(', ')}`);
  // A flow with one run behind it, so the editor has data to preview against.
  const created = await server.api('POST', '/flows', {
    name: 'Doubler',
    steps: [{ id: 'total', uses: 'data.set', with: { value: '{{ trigger.body.amount * 2 }}' } }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const flowId = created.body.id;
  const run = await server.api('POST', `/flows/${flowId}/runs?wait=10s`, { input: { amount: 21 } });
  assert.equal(run.body?.status, 'succeeded', JSON.stringify(run.body));

  await withPage(server, 'expression', async ({ page }) => {
    await page.goto(`/flows/${flowId}`);
    await page.locator('[data-testid=step-card][data-step-id=total]').click();
    const field = page.locator('#step-total-value');
    const form = page.getByTestId('step-form');
    // The preview evaluates against the last run's trigger.
    await expect(form.getByTestId('expr-preview')).toHaveText('42');

    // Broken: a dangling operator. The server's JSONata error, its position, and a mark.
    await field.fill('{{ trigger.body.amount * }}');
    const msg = form.getByTestId('expr-message');
    await expect(msg).toContainText('Unexpected end of expression');
    await expect(form.getByTestId('expr-error-position')).toHaveText('At position 21:');
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await msg.getAttribute('role'), 'alert');
    // The backdrop marks the character the position points at (the last one of the expression).
    await expect(form.locator('.hl-error')).toHaveCount(1);

    // Another kind: an unclosed call.
    await field.fill('{{ $uppercase(trigger.body.amount }}');
    await expect(msg).toContainText(/S0203/);
    await expect(msg).toContainText(/before end of expression/);
    await expect(form.getByTestId('expr-error-position')).toContainText(/At position \d+:/);

    // Save is refused; the card and the field name the problem.
    await field.fill('{{ trigger.body.amount * }}');
    await expect(form.getByTestId('expr-error-position')).toHaveText('At position 21:');
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('save-error')).toBeVisible();
    await expect(page.locator('[data-testid=step-card][data-step-id=total]')).toHaveAttribute('class', /has-error/);
    await expect(form.locator('.field-error').first()).toContainText('Unexpected end of expression');

    // The fix: the error goes, the preview is back.
    await field.fill('{{ trigger.body.amount * 3 }}');
    await expect(form.getByTestId('expr-preview')).toHaveText('63');
    await expect(form.getByTestId('expr-error-position')).toHaveCount(0);
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('save-error')).toHaveCount(0);
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
    const saved = await server.api('GET', `/flows/${flowId}`);
    assert.equal(saved.body.version, 2);
    assert.equal(saved.body.steps[0].with.value, '{{ trigger.body.amount * 3 }}');
  });
});
