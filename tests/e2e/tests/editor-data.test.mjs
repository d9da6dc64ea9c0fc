// Building and debugging a flow in the editor: the data panel beside a step
// (a past run's trigger and earlier outputs; a click inserts the reference at
// the caret, the preview shows the whole value); autocomplete of output
// fields and JSONata functions with their signatures; a webhook delivery used
// as the sample from the Webhooks page and tested against; Run to here; the
// keyboard (add a step, move, save, `?`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

async function createFlow(doc) {
  const r = await server.api('POST', '/flows', doc);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('data panel: a field clicked is inserted at the caret and previewed; autocomplete offers fields and functions', async () => {
  const flow = await createFlow({
    name: 'Orders',
    steps: [
      { id: 'fetch', uses: 'data.set', with: { value: { order: { id: 42, 'first name': 'Ada', items: [{ sku: 'A-1' }] } } } },
      { id: 'note', uses: 'log.write', with: { message: 'x' } },
    ],
  });
  const run = await server.api('POST', `/flows/${flow.id}/runs?wait=10s`, { input: { customer: 'Grace' } });
  assert.equal(run.body?.status, 'succeeded', JSON.stringify(run.body));

  await withPage(server, 'editor-data-panel', async ({ page }) => {
    await page.goto(`/flows/${flow.id}`);
    await page.locator('[data-testid=step-card][data-step-id=note] .card-main').click();
    const panel = page.getByTestId('data-panel');
    // The last run is the sample; its trigger and the earlier step's output, with types.
    await expect(page.getByTestId('sample-active')).toContainText(`run ${run.body.id.slice(-8)}`);
    await expect(panel).toContainText('steps.fetch.output');
    await expect(panel).toContainText('"Ada"');
    await expect(panel.locator('.tree-node[data-path="steps.fetch.output.order.id"] .tree-type').first()).toHaveText('number');

    const field = page.locator('#step-note-message');
    await field.fill('Order ');
    const pick = (path) => panel.locator(`.tree-node[data-path="${path}"] > .tree-row [data-testid=data-field]`).click();
    await pick('steps.fetch.output.order.`first name`');
    await expect(field).toHaveValue('Order {{ steps.fetch.output.order.`first name` }}');
    // The caret stays after the reference: typing goes on there.
    await page.keyboard.type(' for ');
    await pick('trigger.body.customer');
    await expect(field).toHaveValue('Order {{ steps.fetch.output.order.`first name` }} for {{ trigger.body.customer }}');
    // The preview is the whole value, every expression resolved against the sample.
    await expect(page.getByTestId('expr-preview')).toHaveText('"Order Ada for Grace"');

    // Autocomplete: an output field of an earlier step, accepted with Enter.
    await field.fill('{{ steps.fetch.output.or');
    const list = page.getByRole('listbox', { name: 'Suggestions' });
    await expect(list).toContainText('steps.fetch.output.order');
    await page.keyboard.press('Enter');
    await expect(field).toHaveValue('{{ steps.fetch.output.order');
    await page.keyboard.press('Escape');
    await expect(list).toHaveCount(0);
    // A function, with its signature; arrows move, Tab accepts.
    await field.fill('{{ $subst');
    await expect(list).toContainText('$substring(string, number, number?) → string');
    await expect(list).toContainText('$substringAfter(string, string) → string');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Tab');
    await expect(field).toHaveValue('{{ $substringBefore(');
    // Later steps are not offered to an earlier one.
    await page.locator('[data-testid=step-card][data-step-id=fetch] .card-main').click();
    await expect(page.getByTestId('step-form')).toHaveAttribute('data-step-id', 'fetch');
    await expect(panel.locator('.tree-root > .tree-node')).toHaveCount(1);
    await expect(panel.locator('.tree-root > .tree-node').first()).toHaveAttribute('data-path', 'trigger');
  });
});

test('a webhook delivery as the sample (Use as sample), pinned, and a step tested against it', async () => {
  const flow = await createFlow({
    name: 'Hook sample',
    trigger: { type: 'webhook' },
    steps: [{ id: 'echo', uses: 'data.set', with: { value: 'order {{ trigger.body.order }} via {{ trigger.headers.`x-shop` }}' } }],
  });
  assert.equal((await server.api('POST', `/flows/${flow.id}/activate`)).status, 200);
  const sent = await fetch(flow.webhook_url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-shop': 'north' }, body: JSON.stringify({ order: 'C-7' }) });
  assert.equal(sent.status, 202);
  const runsBefore = (await server.api('GET', `/runs?flow_id=${flow.id}`)).body.runs.length;

  await withPage(server, 'editor-data-delivery', async ({ page }) => {
    await page.goto(`/webhooks?flow_id=${flow.id}`);
    await page.getByTestId('delivery-row').first().click();
    await page.getByTestId('use-as-sample').click();
    await page.waitForURL((u) => u.pathname === `/flows/${flow.id}`);
    await page.locator('[data-testid=step-card][data-step-id=echo] .card-main').click();
    await expect(page.getByTestId('sample-active')).toContainText('webhook delivery');
    await expect(page.getByTestId('data-panel')).toContainText('"C-7"');
    // The header with a dash is quoted the JSONata way.
    await expect(page.locator('.tree-node[data-path="trigger.headers.`x-shop`"]')).toHaveCount(1);
    await page.getByTestId('test-step-button').click();
    await expect(page.getByTestId('test-step-output')).toContainText('order C-7 via north');

    // Pinned: the delivery's data saved with the flow as its sample.
    await page.getByTestId('pin-sample').click();
    await expect(page.getByTestId('sample-active')).toContainText('pinned sample data');
    await page.keyboard.press('Control+s');
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
    const saved = (await server.api('GET', `/flows/${flow.id}`)).body;
    assert.equal(saved.sample?.trigger?.body?.order, 'C-7');
  });
  assert.equal((await server.api('GET', `/runs?flow_id=${flow.id}`)).body.runs.length, runsBefore, 'testing a step made a run');
});

test('Run to here stops after the chosen step', async () => {
  const flow = await createFlow({
    name: 'Three steps',
    steps: [
      { id: 'a', uses: 'data.set', with: { value: 1 } },
      { id: 'b', uses: 'data.set', with: { value: '{{ steps.a.output + 1 }}' } },
      { id: 'c', uses: 'log.write', with: { message: 'never' } },
    ],
  });
  await withPage(server, 'editor-run-to-here', async ({ page }) => {
    await page.goto(`/flows/${flow.id}`);
    await page.locator('[data-testid=step-card][data-step-id=b] .card-main').click();
    await page.getByTestId('run-to-here').click();
    const dialog = page.getByTestId('run-dialog');
    await expect(dialog.getByTestId('run-until')).toContainText('Runs up to step b');
    await dialog.getByTestId('start-run').click();
    await expect(dialog.locator('[data-testid="step-run-b"]')).toHaveAttribute('data-status', 'succeeded');
    await expect(dialog.locator('.run-summary [data-status]')).toHaveAttribute('data-status', 'succeeded');
    await expect(dialog.locator('[data-testid="step-run-c"]')).toHaveCount(0);
  });
  const list = (await server.api('GET', `/runs?flow_id=${flow.id}`)).body.runs;
  assert.equal(list.length, 1);
  const run = (await server.api('GET', `/runs/${list[0].id}`)).body;
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(run.steps.map((s) => s.id), ['a', 'b']);
  assert.equal(run.output, 2);
  // The API refuses a step the flow does not have, naming the field.
  const bad = await server.api('POST', `/flows/${flow.id}/runs`, { until_step: 'zzz' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details[0].path, 'until_step');
});

test('keyboard: move between steps, add a step and save without the mouse; ? lists the shortcuts', async () => {
  const flow = await createFlow({ name: 'Keys', steps: [{ id: 'first', uses: 'data.set', with: { value: 1 } }] });
  await withPage(server, 'editor-keyboard', async ({ page }) => {
    await page.goto(`/flows/${flow.id}`);
    await expect(page.locator('[data-testid=step-card][data-step-id=first]')).toHaveCount(1);
    await page.keyboard.press('?');
    const help = page.getByTestId('shortcuts-dialog');
    await expect(help).toContainText('Save');
    await expect(help).toContainText('Run to here');
    await expect(help).toContainText('Add a step');
    await page.keyboard.press('Escape');
    await expect(help).toHaveCount(0);

    // ↓ selects the trigger, then the first step.
    await page.keyboard.press('ArrowDown');
    await expect(page.locator('[data-testid=trigger-card] .card-main')).toHaveAttribute('aria-pressed', 'true');
    await page.keyboard.press('ArrowDown');
    await expect(page.getByTestId('step-form')).toHaveAttribute('data-step-id', 'first');
    // `a` opens the step picker after it; type to search, Enter adds.
    await page.keyboard.press('a');
    await page.keyboard.type('log.write');
    await page.keyboard.press('Enter');
    await expect(page.locator('[data-testid=step-card]')).toHaveCount(2);
    await expect(page.getByTestId('step-form')).toHaveAttribute('data-step-id', 'write');
    // Enter on the new card goes to its first input; `?` typed there is text, not the dialog.
    await page.waitForFunction(() => document.activeElement?.matches('[data-testid=step-card][data-step-id=write] .card-main'));
    await page.keyboard.press('Enter');
    await page.keyboard.type('Hello?');
    await expect(page.locator('#step-write-message')).toHaveValue('Hello?');
    await expect(page.getByTestId('shortcuts-dialog')).toHaveCount(0);
    // Esc leaves the field; ↑ goes back to the first step.
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowUp');
    await expect(page.getByTestId('step-form')).toHaveAttribute('data-step-id', 'first');
    await page.keyboard.press('Control+s');
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
  });
  const saved = (await server.api('GET', `/flows/${flow.id}`)).body;
  assert.equal(saved.version, 2);
  assert.deepEqual(saved.steps.map((s) => s.uses), ['data.set', 'log.write']);
  assert.equal(saved.steps[1].with.message, 'Hello?');
});
