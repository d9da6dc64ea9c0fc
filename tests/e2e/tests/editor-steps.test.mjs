// Editing steps as a first user does: the retry backoff shown is the one the
// server uses when none is set; typing right after changing a step id lands in
// the field clicked; a renamed step's old `{{ steps.<id> }}` is refused on Save
// with the field named, and the editor offers to rename the references.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

test('step id changes: focus kept, stale references refused, then renamed', async () => {
  const created = await server.api('POST', '/flows', {
    name: 'Greeting',
    steps: [
      { id: 'hello', uses: 'data.set', with: { value: 'Hello Grace!' } },
      { id: 'alpha', uses: 'log.write', with: { message: '{{ steps.hello.output }}' } },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const flowId = created.body.id;

  await withPage(server, 'editor-steps', async ({ page }) => {
    await page.goto(`/flows/${flowId}`);
    const card = (id) => page.locator(`[data-testid=step-card][data-step-id=${id}]`);
    const form = page.getByTestId('step-form');

    // No retry set: the server's default backoff is fixed, and that is what shows.
    await card('hello').click();
    await form.getByText('Retries, timeout and errors').click();
    await expect(page.locator('#step-hello-backoff')).toHaveValue('fixed');

    // A new id, then straight to another field: the typing lands there.
    await card('alpha').click();
    await page.locator('#step-alpha-id').fill('say');
    await page.locator('#step-alpha-name').click();
    await page.keyboard.type('Say it');
    await expect(page.locator('#step-say-name')).toHaveValue('Say it');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'step-say-name');
    await expect(card('say')).toBeVisible();

    // Renaming hello leaves steps.hello behind: the editor offers to rename it; declined,
    // Save is refused naming the field.
    await card('hello').click();
    await page.locator('#step-hello-id').fill('greet');
    await page.locator('#step-hello-id').press('Enter');
    const dialog = page.getByTestId('confirm-dialog');
    await expect(dialog).toContainText('steps.hello');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('save-error')).toBeVisible();
    await expect(card('say')).toHaveAttribute('class', /has-error/);
    await card('say').click();
    await expect(form).toContainText('refers to step "hello", which does not exist');
    let saved = await server.api('GET', `/flows/${flowId}`);
    assert.equal(saved.body.version, 1);

    // Back to hello (nothing reads greet: no offer), then greet again, and accept.
    await card('greet').click();
    await page.locator('#step-greet-id').fill('hello');
    await page.locator('#step-greet-id').press('Enter');
    await expect(card('hello')).toBeVisible();
    await expect(dialog).toHaveCount(0);
    await page.locator('#step-hello-id').fill('greet');
    await page.locator('#step-hello-id').press('Enter');
    await expect(dialog).toContainText('steps.greet');
    await dialog.getByRole('button', { name: 'Rename references' }).click();
    await card('say').click();
    await expect(page.locator('#step-say-message')).toHaveValue('{{ steps.greet.output }}');
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
    saved = await server.api('GET', `/flows/${flowId}`);
    assert.equal(saved.body.version, 2);
    assert.deepEqual(saved.body.steps.map((s) => [s.id, s.name ?? null]), [['greet', null], ['say', 'Say it']]);
    assert.equal(saved.body.steps[1].with.message, '{{ steps.greet.output }}');
    const run = await server.api('POST', `/flows/${flowId}/runs?wait=10s`, {});
    assert.equal(run.body?.status, 'succeeded', JSON.stringify(run.body));
    assert.deepEqual(run.body.steps.map((s) => s.path), ['greet', 'say']);
    assert.equal(run.body.steps[1].logs[0].message, 'Hello Grace!');

    // The preview of a field with text and two {{ }} is the whole rendered value.
    await page.reload();
    await card('say').click();
    await page.locator('#step-say-message').fill('To: {{ steps.greet.output }} ({{ $length(steps.greet.output) }})');
    await expect(form.getByTestId('expr-preview')).toHaveText('"To: Hello Grace! (12)"');
  });
});
