// Settings (admins): users (GET/POST/DELETE /users) and API tokens
// (GET/POST/DELETE /tokens; a new token is shown once, with Copy).
import { useState, type FormEvent } from 'react';
import { ApiError, tokens, users, type ApiToken, type User } from '../api';
import { useSession } from '../components/Auth';
import { Icon } from '../components/icons';
import { useToast } from '../components/Toast';
import { ConfirmDialog, CopyButton, Empty, ErrorBox, Field, Loading, Spinner } from '../components/ui';
import { useAsync, useDocumentTitle } from '../lib/hooks';
import { fmtDateTime } from '../lib/time';

const ROLES = ['viewer', 'editor', 'admin'] as const;

/** A 404 on the collection itself: this server has no such API (access control not built in). */
function notOnServer(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404;
}

function Unavailable({ what }: { what: string }) {
  return (
    <div className="note" data-testid="settings-unavailable">
      <Icon name="info" /> This server does not manage {what}; weft stays open to this machine only.
    </div>
  );
}
const ROLE_HELP: Record<string, string> = {
  viewer: 'reads flows, runs, deliveries and connections',
  editor: 'also creates, saves, runs and deletes flows and connections',
  admin: 'also manages users and tokens',
};

function UsersSection({ open }: { open: boolean }) {
  const toast = useToast();
  const session = useSession();
  const list = useAsync((s) => users.list(s), []);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<string>('editor');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [removing, setRemoving] = useState<User | null>(null);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await users.create({ username: username.trim(), password, role });
      toast(`Added ${username}`, 'success');
      setUsername('');
      setPassword('');
      list.reload();
      if (open) await session.refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel section" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      {open ? (
        <div className="note section">
          <Icon name="info" /> No user exists yet, so weft is open to this machine only. Adding the first user turns sign-in on for everyone — make
          it an admin.
        </div>
      ) : null}
      <form className="form-row" onSubmit={add} aria-label="Add a user">
        <Field label="Username" htmlFor="new-user-name">
          <input id="new-user-name" required autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
        </Field>
        <Field label="Password" htmlFor="new-user-password">
          <input id="new-user-password" type="password" required autoComplete="new-password" minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <Field label="Role" htmlFor="new-user-role">
          <select id="new-user-role" value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner /> : <Icon name="plus" />} Add user
        </button>
      </form>
      <p className="small muted">
        {role}: {ROLE_HELP[role]}.
      </p>
      {error ? <ErrorBox error={error} title="User not added" /> : null}
      {list.loading && !list.data ? (
        <Loading />
      ) : list.error ? (
        notOnServer(list.error) ? <Unavailable what="users" /> : <ErrorBox error={list.error} onRetry={list.reload} />
      ) : !list.data?.length ? (
        <Empty icon="user">No users.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="users-table">
            <thead>
              <tr>
                <th>Username</th>
                <th>Role</th>
                <th>Created</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((u) => (
                <tr key={u.id ?? u.username}>
                  <td data-label="Username">
                    <strong>{u.username}</strong>
                    {u.username === session.username ? <span className="pill pill-small">you</span> : null}
                  </td>
                  <td data-label="Role">{u.role}</td>
                  <td data-label="Created" className="small">
                    {fmtDateTime(u.created_at, undefined, false)}
                  </td>
                  <td className="cell-actions">
                    <button type="button" className="icon-btn danger" aria-label={`Remove user ${u.username}`} title="Remove" onClick={() => setRemoving(u)}>
                      <Icon name="trash" />
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {removing ? (
        <ConfirmDialog
          title="Remove user"
          message={
            <p>
              Remove <strong>{removing.username}</strong>? Their sessions end at once.
            </p>
          }
          confirmLabel="Remove"
          onConfirm={async () => {
            await users.remove(removing.id ?? removing.username);
            toast(`Removed ${removing.username}`, 'success');
            list.reload();
          }}
          onClose={() => setRemoving(null)}
        />
      ) : null}
    </section>
  );
}

function TokensSection() {
  const toast = useToast();
  const list = useAsync((s) => tokens.list(s), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('editor');
  const [expires, setExpires] = useState('90d');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<ApiToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const t = await tokens.create({ name: name.trim(), role, ...(expires ? { expires_in: expires } : {}) });
      setCreated(t);
      setName('');
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel section" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="small muted">
        For the CLI and other programs: <code>Authorization: Bearer wft_…</code> or <code>WEFT_TOKEN</code>.
      </p>
      {created?.token ? (
        <div className="token-once" role="status" data-testid="new-token">
          <strong>Copy the token “{created.name}” now — it is not shown again.</strong>
          <code data-testid="new-token-value">{created.token}</code>
          <div className="row gap-s">
            <CopyButton text={created.token} label="Copy token" testId="copy-token" />
            <button type="button" className="btn btn-small btn-ghost" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
      <form className="form-row" onSubmit={create} aria-label="Create a token">
        <Field label="Name" htmlFor="new-token-name">
          <input id="new-token-name" required placeholder="e.g. ci-deploy" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Role" htmlFor="new-token-role">
          <select id="new-token-role" value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Expires in" htmlFor="new-token-expires">
          <select id="new-token-expires" value={expires} onChange={(e) => setExpires(e.target.value)}>
            <option value="1d">1 day</option>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
            <option value="365d">1 year</option>
            <option value="">Never</option>
          </select>
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="create-token">
          {busy ? <Spinner /> : <Icon name="key" />} Create token
        </button>
      </form>
      {error ? <ErrorBox error={error} title="Token not created" /> : null}
      {list.loading && !list.data ? (
        <Loading />
      ) : list.error ? (
        notOnServer(list.error) ? <Unavailable what="API tokens" /> : <ErrorBox error={list.error} onRetry={list.reload} />
      ) : !list.data?.length ? (
        <p className="muted small">No tokens.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="tokens-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Role</th>
                <th>Created</th>
                <th>Expires</th>
                <th>Last used</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((t) => (
                <tr key={t.id}>
                  <td data-label="Name">
                    <strong>{t.name}</strong>
                  </td>
                  <td data-label="Prefix" className="mono small">
                    {t.prefix ? `${t.prefix}…` : '—'}
                  </td>
                  <td data-label="Role">{t.role}</td>
                  <td data-label="Created" className="small">
                    {fmtDateTime(t.created_at, undefined, false)}
                  </td>
                  <td data-label="Expires" className="small">
                    {t.expires_at ? fmtDateTime(t.expires_at, undefined, false) : 'never'}
                  </td>
                  <td data-label="Last used" className="small">
                    {t.last_used_at ? fmtDateTime(t.last_used_at, undefined, false) : 'never'}
                  </td>
                  <td className="cell-actions">
                    <button type="button" className="icon-btn danger" aria-label={`Revoke token ${t.name}`} title="Revoke" onClick={() => setRevoking(t)}>
                      <Icon name="trash" />
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking ? (
        <ConfirmDialog
          title="Revoke token"
          message={
            <p>
              Revoke <strong>{revoking.name}</strong>? Programs using it are refused at once.
            </p>
          }
          confirmLabel="Revoke"
          onConfirm={async () => {
            await tokens.remove(revoking.id);
            toast(`Revoked ${revoking.name}`, 'success');
            list.reload();
          }}
          onClose={() => setRevoking(null)}
        />
      ) : null}
    </section>
  );
}

export function SettingsPage() {
  useDocumentTitle('Settings');
  const s = useSession();
  if (!s.open && s.role !== 'admin') {
    return (
      <div className="page">
        <h1>Settings</h1>
        <Empty icon="lock">Only admins manage users and API tokens.</Empty>
      </div>
    );
  }
  return (
    <div className="page">
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <UsersSection open={s.open} />
      <TokensSection />
    </div>
  );
}
