// Webhook senders as they sign in the wild: the svix package (Svix-based SaaS
// webhooks: svix-* headers), the standardwebhooks package (webhook-* headers)
// and GitHub's @octokit/webhooks-methods (X-Hub-Signature-256), each signing
// real requests to the real binary. No browser: HTTP only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook as SvixWebhook } from 'svix';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { startServer } from '../lib/harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

// A secret in the standard-webhooks form: "whsec_" and 24+ random bytes in base64.
const SECRET = 'whsec_' + Buffer.from('weft-test-secret-0123456789abcdef').toString('base64');

async function activeHookFlow(name, auth) {
  const created = await server.api('POST', '/flows', {
    name,
    trigger: { type: 'webhook', webhook: { methods: ['POST'], auth } },
    steps: [{ id: 'echo', uses: 'data.set', with: { value: '{{ trigger.body.order }}' } }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const activated = await server.api('POST', `/flows/${created.body.id}/activate`);
  assert.equal(activated.status, 200, JSON.stringify(activated.body));
  return created.body;
}

async function post(url, body, headers) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function runOutput(runId) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await server.api('GET', `/runs/${runId}`);
    if (r.status === 200 && ['succeeded', 'failed'].includes(r.body.status)) return r.body;
    assert.ok(Date.now() < deadline, `run ${runId} did not finish`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('standard-webhooks: a request signed by the svix package (svix-* headers) starts a run; tampered or stale is 401', async () => {
  const flow = await activeHookFlow('svix-sender', { type: 'hmac', scheme: 'standard-webhooks', secret: SECRET });
  const svix = new SvixWebhook(SECRET);
  const body = JSON.stringify({ order: 'A-1' });
  const id = 'msg_svix_1';
  const now = new Date();
  const headers = { 'svix-id': id, 'svix-timestamp': String(Math.floor(now / 1000)), 'svix-signature': svix.sign(id, now, body) };

  const ok = await post(flow.webhook_url, body, headers);
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  const run = await runOutput(ok.body.run_id);
  assert.equal(run.status, 'succeeded');
  assert.equal(run.output, 'A-1');

  // The same svix-id again is a repeat: the first run's id, no new run.
  const again = await post(flow.webhook_url, body, headers);
  assert.equal(again.status, 202);
  assert.equal(again.body.run_id, ok.body.run_id);

  const tampered = await post(flow.webhook_url, JSON.stringify({ order: 'A-2' }), { ...headers, 'svix-id': 'msg_svix_2' });
  assert.equal(tampered.status, 401);
  const old = new Date(Date.now() - 10 * 60 * 1000);
  const stale = await post(flow.webhook_url, body, {
    'svix-id': 'msg_svix_3', 'svix-timestamp': String(Math.floor(old / 1000)), 'svix-signature': svix.sign('msg_svix_3', old, body),
  });
  assert.equal(stale.status, 401);
});

test('standard-webhooks: a request signed by the standardwebhooks package (webhook-* headers) starts a run', async () => {
  const flow = await activeHookFlow('standard-sender', { type: 'hmac', scheme: 'standard-webhooks', secret: SECRET });
  const wh = new StandardWebhook(SECRET.slice('whsec_'.length));
  const body = JSON.stringify({ order: 'B-1' });
  const now = new Date();
  const ok = await post(flow.webhook_url, body, {
    'webhook-id': 'msg_std_1', 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': wh.sign('msg_std_1', now, body),
  });
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  assert.equal((await runOutput(ok.body.run_id)).output, 'B-1');
  const wrong = await post(flow.webhook_url, body, {
    'webhook-id': 'msg_std_2', 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': wh.sign('msg_std_1', now, body),
  });
  assert.equal(wrong.status, 401, 'a signature over another message id must not pass');
});

test('github: a request signed by @octokit/webhooks-methods starts a run; a wrong secret is 401', async () => {
  const flow = await activeHookFlow('github-sender', { type: 'hmac', scheme: 'github', secret: 'gh-s3cret' });
  const body = JSON.stringify({ order: 'C-1' });
  const ok = await post(flow.webhook_url, body, { 'x-hub-signature-256': await githubSign('gh-s3cret', body) });
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  assert.equal((await runOutput(ok.body.run_id)).output, 'C-1');
  const bad = await post(flow.webhook_url, body, { 'x-hub-signature-256': await githubSign('not-the-secret', body) });
  assert.equal(bad.status, 401);
});
