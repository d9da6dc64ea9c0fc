// Connectors page: the catalog's connectors with their icons, and "New
// connector from OpenAPI" with a vendor's document (tests/data/openapi/
// mailchimp, Mailchimp Transactional): upload, choose a tag's operations and
// one more, name, save; the new connector is listed as added and its actions
// are in the editor's step picker without reloading the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, withPage, closeBrowser, missingRoutes, repoRoot } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

const SPEC = path.join(repoRoot, 'tests', 'data', 'openapi', 'mailchimp', 'transactional.openapi.json');

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

test('connectors: list with icons; New connector from OpenAPI → choose operations by tag → save → in the step picker', async () => {
  const missing = await missingRoutes(server, ['GET /api/v1/connectors', 'POST /api/v1/connectors/import-openapi', 'POST /api/v1/connectors']);
  assert.deepEqual(missing, [], `the server lacks ${missing.join(', ')}`);
  await withPage(server, 'connectors', async ({ page }) => {
    // Open the editor first, so the catalog is loaded (and cached) before the import.
    await page.goto('/flows/new');
    await page.getByTestId('add-step').first().click();
    await expect(page.getByTestId('palette-item-data.set')).toBeVisible();
    assert.equal(await page.locator('[data-testid^="palette-item-mandrill."]').count(), 0);
    await page.keyboard.press('Escape');

    await page.getByRole('navigation').getByRole('link', { name: 'Connectors' }).click();
    const http = page.locator('[data-testid=connector-row][data-connector-name=http]');
    await expect(http).toContainText('HTTP');
    await expect(http.locator('svg, img').first()).toBeVisible();
    await expect(http).toHaveAttribute('data-source', 'builtin');
    const sftp = page.locator('[data-testid=connector-row][data-connector-name=sftp]');
    await expect(sftp).toContainText('New files');

    await page.getByTestId('new-connector-openapi').click();
    const dialog = page.getByTestId('openapi-dialog');
    await page.locator('#openapi-file').setInputFiles(SPEC);
    // Operations grouped by tag, none chosen yet.
    await expect(dialog.getByTestId('openapi-summary')).toHaveText('0 of 99 operations chosen');
    const messages = dialog.locator('[data-testid=openapi-tag][data-tag=Messages]');
    await expect(messages.getByTestId('openapi-op')).toHaveCount(13);
    assert.ok((await dialog.getByTestId('openapi-tag').count()) > 5, 'several tags');
    await expect(page.locator('#connector-name')).toHaveValue(/^[a-z][a-z0-9_]*$/);
    assert.equal(await dialog.getByTestId('save-connector').isDisabled(), true, 'nothing chosen yet');

    await messages.getByRole('checkbox', { name: 'All of Messages' }).check();
    await dialog.locator('[data-testid=openapi-op][data-operation="templates/list"] input').check();
    await expect(dialog.getByTestId('openapi-summary')).toHaveText('14 of 99 operations chosen');
    await page.locator('#connector-name').fill('Bad Name');
    await expect(dialog.locator('.field-error')).toContainText('lower-case');
    await page.locator('#connector-name').fill('mandrill');
    await dialog.getByTestId('save-connector').click();
    await expect(dialog).toBeHidden();

    const row = page.locator('[data-testid=connector-row][data-connector-name=mandrill]');
    await expect(row).toHaveAttribute('data-source', 'user');
    await expect(row.getByTestId('connector-actions')).toHaveText('14');
    const cat = await server.api('GET', '/connectors');
    const mandrill = cat.body.connectors.find((c) => c.name === 'mandrill');
    assert.equal(mandrill?.actions?.length, 14);
    assert.ok(mandrill.actions.some((a) => a.name === 'messages_send'));
    assert.ok(mandrill.actions.some((a) => a.name === 'templates_list'));
    assert.ok(!mandrill.actions.some((a) => a.name === 'senders_list'), 'an operation not chosen is not imported');

    // The editor's step picker has the new actions, without a page reload.
    await page.evaluate(() => { window.__sameDocument = true; });
    await page.getByRole('navigation').getByRole('link', { name: 'Flows', exact: true }).click();
    await page.getByTestId('new-flow').first().click();
    await page.getByTestId('add-step').first().click();
    await expect(page.getByTestId('palette-item-mandrill.messages_send')).toBeVisible();
    await expect(page.getByTestId('palette-item-mandrill.templates_list')).toBeVisible();
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no page reload happened');
    await page.getByTestId('palette-item-mandrill.messages_send').click();
    await expect(page.getByTestId('step-form')).toContainText('mandrill.messages_send');
  });
});

// A YAML document (written here: two tags, one operation without an operationId)
// and a file that is not OpenAPI.
const SHOP_YAML = `openapi: 3.0.3
info: {title: Tiny Shop, version: "1"}
servers: [{url: "https://shop.example/api"}]
paths:
  /orders:
    get:
      operationId: listOrders
      tags: [Orders]
      summary: List orders
      responses: {"200": {description: ok}}
  /orders/{id}/refund:
    post:
      tags: [Refunds]
      summary: Refund an order
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
`;

test('connectors: a YAML document; an operation without an operationId can be chosen alone; a file that is not OpenAPI is refused', async () => {
  await withPage(server, 'connectors-yaml', async ({ page }) => {
    await page.goto('/connectors');
    await page.getByTestId('new-connector-openapi').click();
    const dialog = page.getByTestId('openapi-dialog');
    await page.locator('#openapi-file').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": "world"}') });
    await expect(dialog.getByTestId('openapi-error')).toBeVisible();
    assert.equal(await dialog.getByTestId('openapi-op').count(), 0);

    await page.locator('#openapi-file').setInputFiles({ name: 'shop.yaml', mimeType: 'application/yaml', buffer: Buffer.from(SHOP_YAML) });
    await expect(dialog.getByTestId('openapi-summary')).toHaveText('0 of 2 operations chosen');
    await expect(dialog.getByTestId('openapi-error')).toHaveCount(0);
    await expect(page.locator('#connector-name')).toHaveValue('tiny_shop');
    const tags = await dialog.getByTestId('openapi-tag').evaluateAll((els) => els.map((e) => e.getAttribute('data-tag')));
    assert.deepEqual(tags, ['Orders', 'Refunds']);
    const refund = dialog.locator('[data-testid=openapi-tag][data-tag=Refunds] [data-testid=openapi-op]');
    const action = await refund.getAttribute('data-action');
    await refund.locator('input').check();
    await dialog.getByTestId('save-connector').click();
    await expect(dialog).toBeHidden();
    await expect(page.locator('[data-testid=connector-row][data-connector-name=tiny_shop]').getByTestId('connector-actions')).toHaveText('1');
    const cat = await server.api('GET', '/connectors');
    const shop = cat.body.connectors.find((c) => c.name === 'tiny_shop');
    assert.deepEqual(shop.actions.map((a) => a.name), [action]);
  });
});
