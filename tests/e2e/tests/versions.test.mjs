// Versions: a step changed in the editor and saved; the history
// names what changed; two versions side by side (YAML) show the change; an
// old version restored as a new one brings the flow back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await closeBrowser(); await server?.stop(); });

test('history: what changed, a diff of two versions, restore as a new version', async () => {
  const created = await server.api('POST', '/flows', {
    name: 'Versioned',
    steps: [
      { id: 'greet', uses: 'data.set', with: { value: 'Hello' } },
      { id: 'say', uses: 'log.write', with: { message: '{{ steps.greet.output }}' } },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const flowId = created.body.id;

  await withPage(server, 'versions', async ({ page }) => {
    await page.goto(`/flows/${flowId}`);
    // Change a step's message in the editor and save: version 2.
    await page.locator('[data-testid=step-card][data-step-id=say]').click();
    await page.locator('#step-say-message').fill('Said: {{ steps.greet.output }}');
    await page.getByTestId('save-flow').click();
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
    assert.equal((await server.api('GET', `/flows/${flowId}`)).body.version, 2);

    // The history: each version with what changed.
    await page.getByRole('button', { name: 'Details' }).click();
    const row = (v) => page.locator(`[data-testid=version-row][data-version="${v}"]`);
    await expect(row(2).getByTestId('version-summary')).toHaveText('step say changed');
    await expect(row(1).getByTestId('version-summary')).toHaveText('first version');

    // v1 with v2 side by side: the old line on the left, the new on the right.
    await expect(page.getByTestId('compare-from')).toHaveValue('1');
    await expect(page.getByTestId('compare-to')).toHaveValue('2');
    await page.getByTestId('compare-versions').click();
    const diff = page.getByTestId('version-diff');
    await expect(diff.locator('td[data-op=removed]')).toHaveText("message: \"{{ steps.greet.output }}\"");
    await expect(diff.locator('td[data-op=added]')).toHaveText('message: "Said: {{ steps.greet.output }}"');
    await expect(page.getByTestId('diff-summary')).toContainText('step say changed');
    await page.getByTestId('diff-modal').getByRole('button', { name: 'Close' }).click();

    // Restore version 1 as version 3: the flow is back, in the server and the editor.
    await row(1).getByRole('button', { name: 'Version 1' }).click();
    await expect(page.getByTestId('version-yaml')).toContainText('message: "{{ steps.greet.output }}"');
    await page.getByTestId('restore-version').click();
    await expect(page.getByRole('status')).toContainText('Restored as version 3');
    const latest = (await server.api('GET', `/flows/${flowId}`)).body;
    assert.equal(latest.version, 3);
    assert.equal(latest.steps[1].with.message, '{{ steps.greet.output }}');
    await page.locator('[data-testid=step-card][data-step-id=say]').click();
    await expect(page.locator('#step-say-message')).toHaveValue('{{ steps.greet.output }}');
    await expect(page.getByTestId('unsaved-indicator')).toHaveCount(0);
    await page.getByRole('button', { name: 'Details' }).click();
    await expect(row(3).getByTestId('version-summary')).toHaveText('step say changed');
  });
});
