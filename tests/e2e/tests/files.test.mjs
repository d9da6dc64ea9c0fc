// File values in the run view: a text file written by file.from_text and a PNG
// downloaded by http.request from a local server show as file chips (name,
// size, type), the image as a thumbnail, the text's first bytes on request;
// the Download link saves the file's bytes; the raw value stays one click away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import zlib from 'node:zlib';
import { startServer, withPage, closeBrowser } from '../lib/harness.mjs';
import { expect } from '../lib/expect.mjs';

const GREETING = 'hello from weft files';

// A 24×16 PNG (an indigo and white stripe pattern), built here so the test needs no fixture.
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function makePng(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0, then RGB
    for (let x = 0; x < width; x++) {
      const on = ((x >> 2) + (y >> 2)) % 2 === 0;
      row.set(on ? [79, 70, 229] : [255, 255, 255], 1 + x * 3);
    }
    rows.push(row);
  }
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = makePng(24, 16);

let server;
let images;
let run;

before(async () => {
  images = http.createServer((req, res) => {
    if (req.url === '/pixel.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
      res.end(PNG);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => images.listen(0, '127.0.0.1', resolve));
  server = await startServer();
  const conn = await server.api('POST', '/connections', {
    name: 'images',
    connector: 'http',
    settings: { base_url: `http://127.0.0.1:${images.address().port}` },
    auth: { type: 'none' },
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.body));
  const flow = await server.api('POST', '/flows', {
    name: 'Files',
    steps: [
      { id: 'greet', uses: 'file.from_text', with: { text: GREETING, name: 'greeting.txt' } },
      { id: 'get', uses: 'http.request', connection: 'images', with: { url: '/pixel.png' } },
    ],
  });
  assert.equal(flow.status, 201, JSON.stringify(flow.body));
  // The second run's trigger carries the first run's text file, as a webhook body would.
  const first = (await server.api('POST', `/flows/${flow.body.id}/runs?wait=20s`, {})).body;
  assert.equal(first?.status, 'succeeded', JSON.stringify(first));
  const greeting = first.steps.find((s) => s.id === 'greet').output.file;
  assert.equal(greeting?.type, 'file', JSON.stringify(first.steps));
  run = (await server.api('POST', `/flows/${flow.body.id}/runs?wait=20s`, { input: { asset: greeting } })).body;
  assert.equal(run?.status, 'succeeded', JSON.stringify(run));
  assert.equal(run.steps.find((s) => s.id === 'get').output.body?.content_type, 'image/png', JSON.stringify(run.steps));
});

after(async () => {
  await closeBrowser();
  await server?.stop();
  await new Promise((resolve) => (images ? images.close(resolve) : resolve()));
});

test('files: run view shows file chips with preview, text and download', async () => {
  await withPage(server, 'files', async ({ page }) => {
    await page.goto(`/runs/${run.id}`);
    await expect(page.getByTestId('run-page')).toHaveAttribute('data-status', 'succeeded');

    // file.from_text's output: {file: <text file>}.
    const greet = page.getByTestId('step-run-greet');
    await greet.getByRole('button').first().click();
    const text = greet.getByTestId('file-chip');
    await expect(text).toHaveCount(1);
    await expect(text).toHaveAttribute('data-file-name', 'greeting.txt');
    await expect(text.getByTestId('file-name')).toHaveText('greeting.txt');
    await expect(text.getByTestId('file-size')).toHaveText(`${GREETING.length} B`);
    await expect(text.getByTestId('file-type')).toHaveText('text/plain');
    assert.equal(await text.getByTestId('file-preview').count(), 0, 'a text file has no image preview');

    // Its first bytes, read with a Range request.
    await text.getByTestId('file-show-text').click();
    await expect(text.getByTestId('file-text')).toHaveText(GREETING);

    // Download through the UI's link: the bytes are the file's.
    const [download] = await Promise.all([page.waitForEvent('download'), text.getByTestId('file-download').click()]);
    assert.equal(download.suggestedFilename(), 'greeting.txt');
    assert.equal(await download.failure(), null);
    assert.equal(await readFile(await download.path(), 'utf8'), GREETING);

    // The raw value is one click away, and back.
    await text.getByTestId('file-show-json').click();
    await expect(greet.getByTestId('file-chip')).toHaveCount(0);
    await expect(greet.locator('.json-view').nth(1)).toContainText('"content_type"');
    await expect(greet.locator('.json-view').nth(1)).toContainText('"fil_');
    await greet.getByTestId('file-show-chip').click();
    await expect(greet.getByTestId('file-chip')).toHaveCount(1);

    // http.request's output: body is the downloaded PNG, shown as a thumbnail that loads.
    const get = page.getByTestId('step-run-get');
    await get.getByRole('button').first().click();
    const image = get.getByTestId('file-chip');
    await expect(image).toHaveCount(1);
    await expect(image).toHaveAttribute('data-file-name', 'pixel.png');
    await expect(image.getByTestId('file-size')).toHaveText(`${PNG.length} B`);
    await expect(image.getByTestId('file-type')).toHaveText('image/png');
    const preview = image.getByTestId('file-preview');
    await preview.scrollIntoViewIfNeeded();
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await preview.elementHandle(), { timeout: 10_000 });
    assert.equal(await preview.evaluate((img) => img.naturalWidth), 24);
    assert.equal(await image.getByTestId('file-show-text').count(), 0, 'an image offers no text preview');

    // The trigger's file value (trigger.body.asset) is a chip too.
    const trigger = page.getByLabel('Trigger data');
    await expect(trigger.getByTestId('file-chip')).toHaveAttribute('data-file-name', 'greeting.txt');
  });
});
