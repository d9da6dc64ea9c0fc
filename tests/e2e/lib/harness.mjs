// Shared set-up for the browser tests: the real weft binary on port 0 with a
// temp data dir, and Debian's chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');

export const weftBin = path.resolve(repoRoot, process.env.WEFT_BIN || 'build/weft');
export const uiDir = path.resolve(repoRoot, process.env.WEFT_UI_DIR || 'ui/dist');

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Starts `weft serve` on 127.0.0.1:0 with a fresh data dir; resolves when /healthz answers. */
export async function startServer({ extraArgs = [] } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-e2e-'));
  const child = spawn(weftBin, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--ui-dir', uiDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 200_000) stderr = stderr.slice(-100_000); });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`weft did not print its address in 20s; stderr:\n${stderr}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`weft exited (${code}) before listening; stderr:\n${stderr}`)); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  child.stdout.resume();
  // Wait for /healthz (a bounded loop of requests, each awaited: no fixed sleeps).
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${url}/healthz never answered; stderr:\n${stderr}`);
    await new Promise((r) => setImmediate(r));
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Parts of the API this build answers 503 for (not wired into `serve` yet).
  const unavailable = [];
  for (const p of ['/api/v1/connections', '/api/v1/deliveries']) {
    const r = await fetch(`${url}${p}`);
    if (r.status === 503) unavailable.push(p);
  }
  return {
    url,
    unavailable,
    dataDir,
    get stderr() { return stderr; },
    async api(method, p, body) {
      const r = await fetch(`${url}/api/v1${p}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = text; }
      return { status: r.status, body: json };
    },
    async routes() {
      const r = await fetch(`${url}/api/v1/openapi.json`);
      const doc = await r.json();
      const out = new Set();
      for (const [p, ops] of Object.entries(doc.paths || {})) {
        for (const m of Object.keys(ops)) out.add(`${m.toUpperCase()} ${p}`);
      }
      return out;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let browserPromise = null;
/** One chromium per test file (node --test runs each file in its own process). */
export function browser() {
  if (!browserPromise) {
    browserPromise = chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
    });
  }
  return browserPromise;
}

export async function closeBrowser() {
  if (browserPromise) {
    const b = await browserPromise;
    browserPromise = null;
    await b.close();
  }
}

/**
 * A page on a fresh context, with console errors and page errors collected.
 * `failed Load resource` lines are expected for 4xx answers the UI handles
 * (live validation); pass `allow` regexps for others a test expects.
 */
export async function openPage(server, { viewport = { width: 1280, height: 800 }, permissions = [] } = {}) {
  const b = await browser();
  const context = await b.newContext({ viewport, baseURL: server.url, timezoneId: 'UTC', locale: 'en-US' });
  if (permissions.length) await context.grantPermissions(permissions, { origin: server.url });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium logs every failed request by itself; the UI handles the 4xx it expects.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    // A part of the API this server build has not wired yet answers 503; the UI shows that itself.
    const where = msg.location()?.url ?? '';
    if (/status of 503/.test(text) && server.unavailable.some((p) => where.includes(p))) return;
    errors.push(`console.error: ${text}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return {
    page,
    context,
    errors,
    /** Throws when the page logged an unexpected error. */
    assertNoErrors(allow = []) {
      const left = errors.filter((e) => !allow.some((re) => re.test(e)));
      if (left.length) throw new Error(`unexpected browser errors:\n${left.join('\n')}`);
    },
    async close() { await context.close(); },
  };
}

/** Skips (with a message naming the missing route) when the server lacks one of `needed`. */
export async function missingRoutes(server, needed) {
  const have = await server.routes();
  return needed.filter((r) => !have.has(r));
}

/**
 * Runs `fn(p)` with a fresh page; on failure saves a screenshot and the page's
 * errors under tests/e2e/test-results/, then checks no unexpected console error.
 */
export async function withPage(server, name, fn, opts = {}) {
  const p = await openPage(server, opts);
  try {
    await fn(p);
    p.assertNoErrors(opts.allowErrors ?? []);
  } catch (e) {
    const dir = path.join(repoRoot, 'tests', 'e2e', 'test-results');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    const safe = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await p.page.screenshot({ path: path.join(dir, `${safe}.png`) }).catch(() => {});
    await writeFile(path.join(dir, `${safe}.log`), `${p.errors.join('\n')}\n--- server stderr (tail)\n${server.stderr.slice(-20000)}`).catch(() => {});
    if (p.errors.length) e.message += `\nbrowser errors:\n${p.errors.join('\n')}`;
    throw e;
  } finally {
    await p.close();
  }
}
