// Connections: table (Name, Creation Date, Connector, Authentication type,
// Active, gear: Edit / Test / Delete) and the create/edit form generated from
// the connector's `fields` and `auth_types`.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import {
  ApiError,
  connections as api,
  errorMessage,
  type Connection,
  type ConnectionTestResult,
  type Connector,
  type Json,
  type JsonObject,
  type RateLimit,
} from '../api';
import { useCanEdit } from '../components/Auth';
import { FieldInput } from '../components/FieldInput';
import { ConnectorIcon, Icon } from '../components/icons';
import { useToast } from '../components/Toast';
import { ConfirmDialog, Empty, ErrorBox, Field, Loading, Menu, Modal, Spinner, Toggle } from '../components/ui';
import { authTypeName, authTypeTitle, humanize, needsConnection, useCatalog } from '../lib/catalog';
import { useAsync, useDocumentTitle } from '../lib/hooks';
import { fmtDateTime, fmtDuration } from '../lib/time';

function authTypeOf(c: Connection): string {
  return c.auth_type ?? (typeof c.auth?.type === 'string' ? c.auth.type : 'none');
}

// OAuth2 authorization code: authorized once the callback stored a token.
const isOAuthCode = (c: Connection) => authTypeOf(c) === 'oauth2_code';
const isAuthorized = (c: Connection) => {
  const a = (c.auth ?? {}) as JsonObject;
  return !!a.refresh_token || !!a.access_token;
};

// The connection's own rate limit (settings.rate_limit), over the connector's
// default shown as placeholders; all three empty: the default applies.
function RateLimitFields({
  defaults,
  value,
  errFor,
  onChange,
}: {
  defaults: RateLimit;
  value: Json | undefined;
  errFor: (path: string) => string | null;
  onChange: (v: JsonObject | undefined) => void;
}) {
  const current: JsonObject = value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
  const set = (key: 'requests' | 'per' | 'burst', raw: string) => {
    const next: JsonObject = { ...current };
    const text = raw.trim();
    if (text === '') delete next[key];
    else if (key === 'per') next[key] = text;
    else next[key] = Number.isFinite(Number(text)) && /^\d+$/.test(text) ? Number(text) : text;
    onChange(Object.keys(next).length ? next : undefined);
  };
  const shown = (key: 'requests' | 'per' | 'burst') => (current[key] === undefined || current[key] === null ? '' : String(current[key]));
  return (
    <fieldset className="inputs" data-testid="rate-limit">
      <legend>Rate limit</legend>
      <p className="small muted">
        The application&apos;s default is {defaults.requests ?? 1} requests per {defaults.per ?? '1s'}
        {defaults.burst ? `, ${defaults.burst} at once` : ''}. Fill these in to use another limit for this connection (every run and worker shares it).
      </p>
      <div className="grid-3">
        <Field label="Requests" htmlFor="conn-rate-requests" error={errFor('settings.rate_limit.requests')}>
          <input id="conn-rate-requests" inputMode="numeric" value={shown('requests')} placeholder={String(defaults.requests ?? '')} onChange={(e) => set('requests', e.target.value)} />
        </Field>
        <Field label="Per" htmlFor="conn-rate-per" error={errFor('settings.rate_limit.per')} help="A duration: 10s, 1m">
          <input id="conn-rate-per" value={shown('per')} placeholder={String(defaults.per ?? '1s')} onChange={(e) => set('per', e.target.value)} />
        </Field>
        <Field label="Burst" htmlFor="conn-rate-burst" error={errFor('settings.rate_limit.burst')} help="At most this many at once">
          <input id="conn-rate-burst" inputMode="numeric" value={shown('burst')} placeholder={String(defaults.burst ?? 1)} onChange={(e) => set('burst', e.target.value)} />
        </Field>
      </div>
    </fieldset>
  );
}

/** The create/edit connection form (a modal); the flow editor's step panel reuses it. */
export function ConnectionForm({
  connectors,
  existing,
  initialConnector,
  onSaved,
  onClose,
}: {
  connectors: Connector[];
  existing: Connection | null;
  initialConnector?: string;
  onSaved: (c: Connection) => void;
  onClose: () => void;
}) {
  const choices = connectors.filter((c) => needsConnection(c));
  const [name, setName] = useState(existing?.name ?? '');
  const [connectorName, setConnectorName] = useState(existing?.connector ?? initialConnector ?? choices[0]?.name ?? '');
  const connector = connectors.find((c) => c.name === connectorName);
  const [settings, setSettings] = useState<JsonObject>(() => existing?.settings ?? {});
  const [auth, setAuth] = useState<JsonObject>(() => (existing?.auth as JsonObject) ?? { type: authTypeName(connector?.auth_types?.[0] ?? 'none') });
  const [active, setActive] = useState(existing?.active ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  // Defaults of a newly chosen connector.
  useEffect(() => {
    if (existing) return;
    const s: JsonObject = {};
    for (const f of connector?.fields ?? []) if (f.default !== undefined && f.default !== null) s[f.name] = f.default;
    setSettings(s);
    setAuth({ type: authTypeName(connector?.auth_types?.[0] ?? 'none') });
  }, [connectorName, connector, existing]);

  const authTypes = connector?.auth_types ?? [];
  const currentAuth = authTypes.find((a) => authTypeName(a) === auth.type);
  const authFields = typeof currentAuth === 'object' ? (currentAuth.fields ?? []) : [];
  const details = error instanceof ApiError ? error.details : [];
  const errFor = (path: string) => details.find((d) => d.path === path || d.path?.endsWith(`.${path}`))?.message ?? null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), connector: connectorName, settings, auth, active };
      const saved = existing ? await api.save(existing.id, body) : await api.create(body);
      onSaved(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Modal title={existing ? `Edit ${existing.name}` : 'New connection'} onClose={onClose} wide testId="connection-form">
      <form onSubmit={submit}>
        <div className="grid-2">
          <Field label="Name" htmlFor="conn-name" error={errFor('name')} required help="Steps refer to the connection by this name">
            <input id="conn-name" value={name} required onChange={(e) => setName(e.target.value)} placeholder="e.g. dam-prod" />
          </Field>
          <Field label="Connector" htmlFor="conn-connector" error={errFor('connector')} required>
            <select id="conn-connector" value={connectorName} disabled={!!existing} onChange={(e) => setConnectorName(e.target.value)}>
              {choices.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.title ?? c.name}
                </option>
              ))}
              {existing && !choices.some((c) => c.name === existing.connector) ? <option value={existing.connector}>{existing.connector}</option> : null}
            </select>
          </Field>
        </div>
        {connector?.description ? <p className="muted small">{connector.description}</p> : null}
        {(connector?.fields ?? []).length ? (
          <fieldset className="inputs">
            <legend>Settings</legend>
            {(connector?.fields ?? []).map((f) => (
              <FieldInput
                key={f.name}
                field={f}
                idPrefix="conn-settings"
                value={settings[f.name]}
                error={errFor(`settings.${f.name}`)}
                onChange={(v: Json | undefined) => {
                  const s = { ...settings };
                  if (v === undefined) delete s[f.name];
                  else s[f.name] = v;
                  setSettings(s);
                }}
              />
            ))}
          </fieldset>
        ) : null}
        {connector?.rate_limit ? (
          <RateLimitFields
            defaults={connector.rate_limit}
            value={settings.rate_limit}
            errFor={errFor}
            onChange={(v) => {
              const s = { ...settings };
              if (v === undefined) delete s.rate_limit;
              else s.rate_limit = v;
              setSettings(s);
            }}
          />
        ) : null}
        {authTypes.length ? (
          <fieldset className="inputs">
            <legend>Authentication</legend>
            <Field label="Authentication type" htmlFor="conn-auth-type" error={errFor('auth.type')}>
              <select id="conn-auth-type" value={String(auth.type ?? '')} onChange={(e) => setAuth({ type: e.target.value })}>
                {authTypes.map((a) => (
                  <option key={authTypeName(a)} value={authTypeName(a)}>
                    {authTypeTitle(a)}
                  </option>
                ))}
              </select>
            </Field>
            {authFields.map((f) => (
              <FieldInput
                key={f.name}
                field={f}
                idPrefix="conn-auth"
                value={auth[f.name]}
                error={errFor(`auth.${f.name}`)}
                onChange={(v) => {
                  const a = { ...auth };
                  if (v === undefined) delete a[f.name];
                  else a[f.name] = v;
                  setAuth(a);
                }}
              />
            ))}
            {auth.type === 'oauth2_code' ? (
              <p className="small muted" data-testid="oauth-note">
                Register <code>{`${window.location.origin}/api/v1/oauth/callback`}</code> as the redirect URL with the provider. After saving, choose{' '}
                <strong>Authorize</strong> in the connection&apos;s menu: you sign in at the provider and weft stores the tokens.
              </p>
            ) : null}
            {existing ? <p className="small muted">Secret fields show ******** ; leave them so to keep the stored value.</p> : null}
          </fieldset>
        ) : null}
        <Field label="Active">
          <Toggle checked={active} onChange={setActive} label={active ? 'Active' : 'Inactive'} showLabel />
        </Field>
        {error ? <ErrorBox error={error} title="Not saved" /> : null}
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !connectorName} data-testid="save-connection">
            {busy ? <Spinner /> : null} {existing ? 'Save' : 'Create connection'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function ConnectionsPage() {
  useDocumentTitle('Connections');
  const toast = useToast();
  const canEdit = useCanEdit();
  const catalog = useCatalog();
  const list = useAsync((s) => api.list(s), []);
  const [params, setParams] = useSearchParams();
  const [editing, setEditing] = useState<Connection | 'new' | null>(params.get('new') !== null ? 'new' : null);
  const [deleting, setDeleting] = useState<Connection | null>(null);
  const [tests, setTests] = useState<Record<string, ConnectionTestResult | 'running' | { error: string }>>({});
  const [toggling, setToggling] = useState<string | null>(null);
  const [q, setQ] = useState('');

  const rows = useMemo(() => {
    const n = q.trim().toLowerCase();
    return (list.data ?? []).filter((c) => !n || c.name.toLowerCase().includes(n) || c.connector.toLowerCase().includes(n)).sort((a, b) => a.name.localeCompare(b.name));
  }, [list.data, q]);

  const test = async (c: Connection) => {
    setTests((t) => ({ ...t, [c.id]: 'running' }));
    try {
      const r = await api.test(c.id);
      setTests((t) => ({ ...t, [c.id]: r }));
      toast(r.ok ? `${c.name}: connection works` : `${c.name}: ${r.message ?? 'test failed'}`, r.ok ? 'success' : 'error');
    } catch (e) {
      setTests((t) => ({ ...t, [c.id]: { error: errorMessage(e) } }));
    }
  };

  const toggle = async (c: Connection, on: boolean) => {
    setToggling(c.id);
    list.setData((prev) => prev?.map((x) => (x.id === c.id ? { ...x, active: on } : x))); // optimistic
    try {
      const saved = await api.save(c.id, { name: c.name, connector: c.connector, settings: c.settings ?? {}, auth: (c.auth as JsonObject) ?? { type: 'none' }, active: on });
      list.setData((prev) => prev?.map((x) => (x.id === c.id ? { ...x, ...saved, active: saved?.active ?? on } : x)));
    } catch (e) {
      list.setData((prev) => prev?.map((x) => (x.id === c.id ? { ...x, active: !on } : x)));
      toast(`Could not change ${c.name}: ${errorMessage(e)}`, 'error');
    } finally {
      setToggling(null);
    }
  };

  const connectorTitle = (n: string) => catalog.connector(n)?.title ?? n;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Connections</h1>
          <p className="muted small sub">Saved credentials and settings for the applications your flows talk to. Secrets are encrypted and never shown again.</p>
        </div>
        {canEdit ? (
          <button type="button" className="btn btn-primary" onClick={() => setEditing('new')} data-testid="new-connection">
            <Icon name="plus" /> New connection
          </button>
        ) : null}
      </div>
      <div className="toolbar" role="search">
        <div className="search-box">
          <Icon name="search" />
          <input type="search" aria-label="Search connections" placeholder="Search by name or connector" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
      </div>
      {list.loading && !list.data ? (
        <Loading what="Loading connections…" />
      ) : list.error ? (
        <ErrorBox error={list.error} onRetry={list.reload} />
      ) : !list.data?.length ? (
        <Empty icon="key">
          <p>
            <strong>No connections yet.</strong>
          </p>
          <p className="muted">A connection holds the address and credentials of an application, for example an HTTP API or an SMTP server.</p>
          {canEdit ? (
            <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
              <Icon name="plus" /> New connection
            </button>
          ) : null}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="connection-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Creation Date</th>
                <th>Connector</th>
                <th>Authentication type</th>
                <th>Active</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => {
                const t = tests[c.id];
                return (
                  <tr key={c.id} data-testid="connection-row" data-connection-name={c.name}>
                    <td data-label="Name">
                      <div className="row gap-s">
                        <strong>{c.name}</strong>
                        {isOAuthCode(c) && !isAuthorized(c) ? (
                          <span className="small field-error" data-testid="oauth-unauthorized">
                            not authorized yet
                          </span>
                        ) : null}
                      </div>
                      {t ? (
                        <div className="small" data-testid="connection-test-result" aria-live="polite">
                          {t === 'running' ? (
                            <span className="muted">
                              <Spinner label="Testing" /> Testing…
                            </span>
                          ) : 'error' in t ? (
                            <span className="field-error">Test could not run: {t.error}</span>
                          ) : t.ok ? (
                            <span style={{ color: 'var(--ok)' }} data-ok="true">
                              <Icon name="check" size={12} /> {t.message || 'Connection works'}
                              {t.duration_ms !== undefined ? ` · ${fmtDuration(t.duration_ms)}` : ''}
                            </span>
                          ) : (
                            <span className="field-error" data-ok="false">
                              <Icon name="x" size={12} /> {t.message || 'Failed'}
                              {t.duration_ms !== undefined ? ` · ${fmtDuration(t.duration_ms)}` : ''}
                            </span>
                          )}
                        </div>
                      ) : null}
                    </td>
                    <td data-label="Creation Date" className="small">
                      {fmtDateTime(c.created_at, undefined, false)}
                    </td>
                    <td data-label="Connector">
                      <span className="row gap-s">
                        <ConnectorIcon icon={catalog.connector(c.connector)?.icon} name={c.connector} /> {connectorTitle(c.connector)}
                      </span>
                    </td>
                    <td data-label="Authentication type">{humanize(authTypeOf(c))}</td>
                    <td data-label="Active">
                      <Toggle checked={c.active} label={`Active: ${c.name}`} busy={toggling === c.id} disabled={!canEdit} onChange={(v) => toggle(c, v)} testId="connection-active-toggle" />
                    </td>
                    <td className="cell-actions">
                      <Menu
                        label={`Actions for ${c.name}`}
                        testId="connection-gear"
                        items={[
                          { label: 'Edit', icon: 'pencil', onSelect: () => setEditing(c), disabled: !canEdit },
                          { label: 'Test', icon: 'bolt', onSelect: () => test(c) },
                          ...(isOAuthCode(c)
                            ? [{ label: isAuthorized(c) ? 'Authorize again' : 'Authorize', icon: 'key', onSelect: () => window.location.assign(api.oauthStartUrl(c.id)), disabled: !canEdit }]
                            : []),
                          { label: 'Delete', icon: 'trash', danger: true, onSelect: () => setDeleting(c), disabled: !canEdit },
                        ]}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {editing ? (
        catalog.loading ? (
          <Modal title="New connection" onClose={() => setEditing(null)}>
            <Loading what="Loading the catalog…" />
          </Modal>
        ) : catalog.error ? (
          <Modal title="New connection" onClose={() => setEditing(null)}>
            <ErrorBox error={catalog.error} onRetry={catalog.retry} />
          </Modal>
        ) : (
          <ConnectionForm
            connectors={catalog.connectors}
            existing={editing === 'new' ? null : editing}
            initialConnector={params.get('new') || undefined}
            onClose={() => {
              setEditing(null);
              if (params.get('new') !== null) setParams({}, { replace: true });
            }}
            onSaved={(c) => {
              toast(editing === 'new' ? `Created ${c.name}` : `Saved ${c.name}`, 'success');
              setEditing(null);
              if (params.get('new') !== null) setParams({}, { replace: true });
              list.reload();
            }}
          />
        )
      ) : null}
      {deleting ? (
        <ConfirmDialog
          title="Delete connection"
          message={
            <p>
              Delete <strong>{deleting.name}</strong>? Flows that use it will stop working. A connection that a flow uses cannot be deleted.
            </p>
          }
          onConfirm={async () => {
            await api.remove(deleting.id);
            list.setData((prev) => prev?.filter((x) => x.id !== deleting.id));
            toast(`Deleted ${deleting.name}`, 'success');
          }}
          onClose={() => setDeleting(null)}
        />
      ) : null}
    </div>
  );
}
