// A small retrying `expect` for playwright-core locators (the @playwright/test
// runner is not used): each assertion re-reads the page until it holds or the
// timeout passes, then fails with what it last saw.
const DEFAULT_TIMEOUT = 10_000;

async function poll(describe, check, timeout) {
  const deadline = Date.now() + timeout;
  let last;
  let delay = 25;
  for (;;) {
    try {
      const r = await check();
      if (r.ok) return;
      last = r.seen;
    } catch (e) {
      last = `error: ${e.message.split('\n')[0]}`;
    }
    if (Date.now() > deadline) throw new Error(`expect: ${describe} (after ${timeout} ms; last seen: ${JSON.stringify(last)})`);
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 250);
  }
}

const matches = (text, want) => (want instanceof RegExp ? want.test(text) : text.includes(want));

export function expect(locator, { timeout = DEFAULT_TIMEOUT } = {}) {
  const name = locator.toString();
  const api = {
    async toBeVisible() {
      await locator.first().waitFor({ state: 'visible', timeout });
    },
    async toBeHidden() {
      await poll(`${name} to be hidden`, async () => {
        const n = await locator.count();
        for (let i = 0; i < n; i++) if (await locator.nth(i).isVisible()) return { ok: false, seen: 'visible' };
        return { ok: true };
      }, timeout);
    },
    async toContainText(want) {
      await poll(`${name} to contain ${want}`, async () => {
        const text = (await locator.first().textContent({ timeout: 1000 })) ?? '';
        return { ok: matches(text, want), seen: text.slice(0, 400) };
      }, timeout);
    },
    async toHaveText(want) {
      await poll(`${name} to have text ${want}`, async () => {
        const text = ((await locator.first().textContent({ timeout: 1000 })) ?? '').trim();
        return { ok: want instanceof RegExp ? want.test(text) : text === want, seen: text.slice(0, 400) };
      }, timeout);
    },
    async toHaveValue(want) {
      await poll(`${name} to have value ${want}`, async () => {
        const v = await locator.first().inputValue({ timeout: 1000 });
        return { ok: want instanceof RegExp ? want.test(v) : v === want, seen: v };
      }, timeout);
    },
    async toHaveAttribute(attr, want) {
      await poll(`${name} to have ${attr}=${want}`, async () => {
        const v = await locator.first().getAttribute(attr, { timeout: 1000 });
        return { ok: v !== null && (want instanceof RegExp ? want.test(v) : v === want), seen: v };
      }, timeout);
    },
    async toHaveCount(n) {
      await poll(`${name} to have count ${n}`, async () => {
        const c = await locator.count();
        return { ok: c === n, seen: c };
      }, timeout);
    },
    async toHaveCountAtLeast(n) {
      await poll(`${name} to have count >= ${n}`, async () => {
        const c = await locator.count();
        return { ok: c >= n, seen: c };
      }, timeout);
    },
  };
  return api;
}
