// The trigger card's side form: Manual, Webhook (URL, methods, auth,
// response mode), Schedule (ScheduleEditor) or New data (PollForm).
import type { ApiErrorDetail, Connection, Trigger, TriggerType, WebhookAuth, WebhookSettings } from '../../api';
import type { Catalog } from '../../lib/catalog';
import { Icon } from '../icons';
import { CopyButton, Field } from '../ui';
import { defaultPoll, PollForm } from './PollForm';
import { defaultSchedule, ScheduleEditor } from './ScheduleEditor';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export const TRIGGER_INFO: Record<TriggerType, { title: string; icon: string; blurb: string }> = {
  manual: { title: 'Manual', icon: 'hand', blurb: 'Runs when someone presses Run or calls the API.' },
  webhook: { title: 'Webhook', icon: 'webhook', blurb: 'Runs when a request arrives on the flow’s URL.' },
  schedule: { title: 'Schedule', icon: 'clock', blurb: 'Runs at the times the schedule names.' },
  poll: { title: 'New data', icon: 'database', blurb: 'Checks a source on a schedule and runs once for each new item (or batch).' },
};

export function TriggerTypePicker({ value, onChange }: { value: TriggerType; onChange: (t: TriggerType) => void }) {
  return (
    <div className="trigger-types" role="radiogroup" aria-label="Trigger">
      {(Object.keys(TRIGGER_INFO) as TriggerType[]).map((t) => (
        <label key={t} className={`trigger-type${value === t ? ' on' : ''}`}>
          <input type="radio" name="trigger-type" value={t} checked={value === t} onChange={() => onChange(t)} />
          <Icon name={TRIGGER_INFO[t].icon} size={20} />
          <span>{TRIGGER_INFO[t].title}</span>
        </label>
      ))}
    </div>
  );
}

/** A random webhook secret: `whsec_` + base64 for Standard Webhooks, hex otherwise. */
function newSecret(scheme: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  if (scheme === 'standard-webhooks') return 'whsec_' + btoa(String.fromCharCode(...bytes));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function err(errors: ApiErrorDetail[], suffix: string): string | null {
  return errors.find((e) => (e.path ?? '').endsWith(suffix))?.message ?? null;
}

export function WebhookUrlBox({ url, onRotate }: { url?: string | null; onRotate?: () => void }) {
  if (!url) {
    return (
      <div className="note" data-testid="webhook-url-note">
        <Icon name="info" /> Saving creates the URL.
      </div>
    );
  }
  return (
    <div className="url-box">
      <code className="url" data-testid="webhook-url">
        {url}
      </code>
      <CopyButton text={url} label="Copy URL" testId="copy-webhook-url" />
      {onRotate ? (
        <button type="button" className="btn btn-small btn-ghost" onClick={onRotate} title="Issue a new URL; the old one stops working at once">
          Rotate
        </button>
      ) : null}
    </div>
  );
}

function WebhookForm({
  value,
  onChange,
  url,
  onRotate,
  errors,
}: {
  value: WebhookSettings;
  onChange: (w: WebhookSettings) => void;
  url?: string | null;
  onRotate?: () => void;
  errors: ApiErrorDetail[];
}) {
  const methods = value.methods ?? ['POST'];
  const auth: WebhookAuth = value.auth ?? { type: 'none' };
  const setAuth = (a: Partial<WebhookAuth> & { type?: string }) => onChange({ ...value, auth: { ...auth, ...a } as WebhookAuth });
  const a = auth as Record<string, string | undefined>;
  const text = (key: string, label: string, secret = false, placeholder = '') => (
    <Field label={label} htmlFor={`wh-auth-${key}`} error={err(errors, `auth.${key}`)} required>
      <input
        id={`wh-auth-${key}`}
        type={secret ? 'password' : 'text'}
        autoComplete={secret ? 'new-password' : 'off'}
        placeholder={placeholder}
        value={a[key] ?? ''}
        onChange={(e) => setAuth({ [key]: e.target.value } as Partial<WebhookAuth>)}
      />
    </Field>
  );
  return (
    <div className="webhook-form" data-testid="webhook-form">
      <Field label="Webhook URL">
        <WebhookUrlBox url={url} onRotate={onRotate} />
      </Field>
      <Field label="Methods" error={err(errors, 'methods')}>
        <div className="chips" role="group" aria-label="Accepted methods">
          {METHODS.map((m) => (
            <label key={m} className={`chip${methods.includes(m) ? ' on' : ''}`}>
              <input
                type="checkbox"
                checked={methods.includes(m)}
                onChange={(e) => onChange({ ...value, methods: e.target.checked ? METHODS.filter((x) => x === m || methods.includes(x)) : methods.filter((x) => x !== m) })}
              />
              {m}
            </label>
          ))}
        </div>
      </Field>
      <Field label="Authentication" htmlFor="wh-auth-type" error={err(errors, 'auth.type')}>
        <select
          id="wh-auth-type"
          value={auth.type}
          onChange={(e) => {
            const t = e.target.value as WebhookAuth['type'];
            onChange({ ...value, auth: t === 'hmac' ? { type: 'hmac', scheme: 'standard-webhooks' } : ({ type: t } as WebhookAuth) });
          }}
        >
          <option value="none">None</option>
          <option value="header">Header with a secret value</option>
          <option value="basic">Basic (username and password)</option>
          <option value="hmac">HMAC signature</option>
        </select>
      </Field>
      {auth.type === 'header' ? (
        <div className="grid-2">
          {text('name', 'Header name', false, 'X-Webhook-Token')}
          {text('value', 'Header value', true)}
        </div>
      ) : null}
      {auth.type === 'basic' ? (
        <div className="grid-2">
          {text('username', 'Username')}
          {text('password', 'Password', true)}
        </div>
      ) : null}
      {auth.type === 'hmac' ? (
        <>
          <Field label="Scheme" htmlFor="wh-auth-scheme" error={err(errors, 'auth.scheme')}>
            <select id="wh-auth-scheme" value={auth.scheme ?? 'standard-webhooks'} onChange={(e) => setAuth({ scheme: e.target.value as 'standard-webhooks' })}>
              <option value="standard-webhooks">Standard Webhooks (webhook-signature)</option>
              <option value="github">GitHub (X-Hub-Signature-256)</option>
              <option value="custom">Custom</option>
            </select>
          </Field>
          <div className="row gap-s" style={{ alignItems: 'flex-end' }}>
            <div className="grow">{text('secret', 'Secret', true, auth.scheme === 'standard-webhooks' || !auth.scheme ? 'whsec_…' : '')}</div>
            <button
              type="button"
              className="btn btn-small"
              style={{ marginBottom: 14 }}
              title="Create a random secret; copy it to the sender before saving"
              onClick={() => setAuth({ secret: newSecret(auth.scheme ?? 'standard-webhooks') })}
            >
              Generate
            </button>
          </div>
          {a.secret && a.secret !== '********' ? (
            <div className="row gap-s small" style={{ marginTop: -8, marginBottom: 12 }}>
              <span className="muted">Give the sender this secret:</span>
              <CopyButton text={a.secret} label="Copy secret" />
            </div>
          ) : null}
          {auth.scheme === 'custom' ? (
            <>
              <div className="grid-2">
                {text('header', 'Signature header', false, 'X-Signature')}
                <Field label="Algorithm" htmlFor="wh-auth-algorithm">
                  <select id="wh-auth-algorithm" value={auth.algorithm ?? 'sha256'} onChange={(e) => setAuth({ algorithm: e.target.value as 'sha256' })}>
                    <option value="sha256">HMAC-SHA256</option>
                    <option value="sha1">HMAC-SHA1</option>
                    <option value="sha512">HMAC-SHA512</option>
                  </select>
                </Field>
              </div>
              <div className="grid-2">
                <Field label="Encoding" htmlFor="wh-auth-encoding">
                  <select id="wh-auth-encoding" value={auth.encoding ?? 'hex'} onChange={(e) => setAuth({ encoding: e.target.value as 'hex' })}>
                    <option value="hex">hex</option>
                    <option value="base64">base64</option>
                  </select>
                </Field>
                <Field label="Prefix" htmlFor="wh-auth-prefix" help="e.g. sha256=">
                  <input id="wh-auth-prefix" value={auth.prefix ?? ''} onChange={(e) => setAuth({ prefix: e.target.value })} />
                </Field>
              </div>
            </>
          ) : null}
        </>
      ) : null}
      <Field label="Response" error={err(errors, 'response.mode')}>
        <div className="radio-col">
          <label>
            <input
              type="radio"
              name="wh-response"
              checked={(value.response?.mode ?? 'accepted') === 'accepted'}
              onChange={() => onChange({ ...value, response: { ...value.response, mode: 'accepted' } })}
            />{' '}
            <strong>Accepted</strong> <span className="muted">— answer 202 with the run id as soon as the run is queued</span>
          </label>
          <label>
            <input
              type="radio"
              name="wh-response"
              checked={value.response?.mode === 'sync'}
              onChange={() => onChange({ ...value, response: { ...value.response, mode: 'sync' } })}
            />{' '}
            <strong>Wait for the result</strong> <span className="muted">— answer with the flow’s response (webhook.respond or the last output)</span>
          </label>
        </div>
      </Field>
      {value.response?.mode === 'sync' ? (
        <Field label="Timeout" htmlFor="wh-timeout" help="Default 30s; after it the caller gets 202 with the run id" error={err(errors, 'response.timeout')}>
          <input id="wh-timeout" placeholder="30s" value={value.response?.timeout ?? ''} onChange={(e) => onChange({ ...value, response: { ...value.response, timeout: e.target.value || undefined } })} />
        </Field>
      ) : null}
    </div>
  );
}

export function TriggerForm({
  trigger,
  onChange,
  webhookUrl,
  onRotate,
  errors,
  catalog,
  connections,
  flowId,
  dirty = false,
  onConnectionCreated,
}: {
  trigger: Trigger;
  onChange: (t: Trigger) => void;
  webhookUrl?: string | null;
  onRotate?: () => void;
  errors: ApiErrorDetail[];
  catalog: Catalog;
  connections: Connection[];
  /** The saved flow's id, for Check now. */
  flowId?: string;
  dirty?: boolean;
  /** A connection made in place by the poll source's "New". */
  onConnectionCreated?: (c: Connection) => void;
}) {
  const setType = (type: TriggerType) => {
    const t: Trigger = { type };
    if (type === 'poll') t.poll = trigger.poll ?? defaultPoll(catalog);
    if (type === 'webhook') t.webhook = trigger.webhook ?? { methods: ['POST'], auth: { type: 'none' }, response: { mode: 'accepted' } };
    if (type === 'schedule') t.schedule = trigger.schedule ?? defaultSchedule();
    onChange(t);
  };
  const general = errors.filter((e) => !/^trigger\.(webhook|schedule|poll)\./.test(e.path ?? ''));
  return (
    <div className="trigger-form">
      <TriggerTypePicker value={trigger.type} onChange={setType} />
      <p className="muted small">{TRIGGER_INFO[trigger.type].blurb} Every flow can also be run by hand.</p>
      {general.length ? (
        <div className="field-error" role="alert">
          {general.map((e, i) => (
            <div key={i}>{e.message}</div>
          ))}
        </div>
      ) : null}
      {trigger.type === 'webhook' ? (
        <WebhookForm
          value={trigger.webhook ?? {}}
          onChange={(w) => onChange({ ...trigger, webhook: w })}
          url={webhookUrl}
          onRotate={onRotate}
          errors={errors.filter((e) => (e.path ?? '').startsWith('trigger.webhook'))}
        />
      ) : null}
      {trigger.type === 'schedule' ? (
        <ScheduleEditor
          value={trigger.schedule ?? defaultSchedule()}
          onChange={(s) => onChange({ ...trigger, schedule: s })}
          errors={errors.filter((e) => (e.path ?? '').startsWith('trigger.schedule'))}
        />
      ) : null}
      {trigger.type === 'poll' ? (
        <PollForm
          value={trigger.poll ?? defaultPoll(catalog)}
          onChange={(p) => onChange({ ...trigger, poll: p })}
          catalog={catalog}
          connections={connections}
          flowId={flowId}
          dirty={dirty}
          errors={errors.filter((e) => (e.path ?? '').startsWith('trigger.poll'))}
          onConnectionCreated={onConnectionCreated}
        />
      ) : null}
    </div>
  );
}
