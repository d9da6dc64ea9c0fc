// Connectors: every connector of the catalog (built-in and added from
// manifests) with its icon, actions and sources; admins add one from an
// OpenAPI document: upload it, choose operations (grouped by tag), name it,
// save. The catalog is then reloaded, so the editor's step picker lists the
// new actions without a page reload.
import { useMemo, useState } from 'react';
import { connectors as api, type Connector, type OpenApiImport, type OpenApiOperation } from '../api';
import { useSession } from '../components/Auth';
import { ConnectorIcon, Icon } from '../components/icons';
import { useToast } from '../components/Toast';
import { Empty, ErrorBox, Field, Loading, Modal, Spinner } from '../components/ui';
import { loadCatalog, useCatalog } from '../lib/catalog';
import { groupByTag, manifestName } from '../lib/openapi';
import { useDocumentTitle } from '../lib/hooks';

const NAME_RE = /^[a-z][a-z0-9_]*$/;
/** The request line stays well under the server's 64 KiB header limit. */
const MAX_FILTER_CHARS = 48 * 1024;

function OpenApiDialog({ onClose, onSaved }: { onClose: () => void; onSaved: (c: Connector) => void }) {
  const [fileName, setFileName] = useState('');
  const [spec, setSpec] = useState<string | null>(null);
  const [imported, setImported] = useState<OpenApiImport | null>(null);
  const [reading, setReading] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [name, setName] = useState('');
  const [filter, setFilter] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const ops = useMemo(() => imported?.operation_list ?? [], [imported]);
  const groups = useMemo(() => groupByTag(ops), [ops]);
  const f = filter.trim().toLowerCase();
  const shown = (op: OpenApiOperation) =>
    !f || op.action.includes(f) || op.path.toLowerCase().includes(f) || (op.title ?? '').toLowerCase().includes(f) || op.tags.some((t) => t.toLowerCase().includes(f));

  const choose = async (file: File | undefined) => {
    setError(null);
    setImported(null);
    setSelected(new Set());
    if (!file) return;
    setFileName(file.name);
    setReading(true);
    try {
      const text = await file.text();
      setSpec(text);
      const r = await api.importOpenApi(text);
      setImported(r);
      setName(manifestName(r.manifest));
    } catch (e) {
      setError(e);
    } finally {
      setReading(false);
    }
  };

  const toggle = (keys: string[], on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      for (const k of keys) (on ? n.add(k) : n.delete(k));
      return n;
    });

  const nameError = name && !NAME_RE.test(name) ? 'Use lower-case letters, digits and _; start with a letter.' : null;
  const filterChars = [...selected].reduce((n, k) => n + k.length + 11, 0);
  const all = selected.size === ops.length;
  const tooMany = !all && filterChars > MAX_FILTER_CHARS;

  const save = async () => {
    if (!spec || !selected.size || !name || nameError || tooMany) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.importOpenApi(spec, { operations: all ? [] : [...selected], name });
      const saved = await api.save(r.manifest);
      await loadCatalog(true);
      onSaved(saved);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title="New connector from OpenAPI"
      onClose={onClose}
      wide
      testId="openapi-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn-primary"
            onClick={save}
            disabled={busy || !imported || !selected.size || !name || !!nameError || tooMany}
            data-testid="save-connector"
          >
            {busy ? <Spinner /> : null} Save connector
          </button>
        </>
      }
    >
      <Field label="OpenAPI document" htmlFor="openapi-file" help="OpenAPI 3.0 / 3.1 or Swagger 2.0, JSON or YAML, at most 16 MiB">
        <input id="openapi-file" type="file" accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml" onChange={(e) => void choose(e.target.files?.[0])} />
      </Field>
      {reading ? <Loading what={`Reading ${fileName}…`} /> : null}
      {error ? (
        <div data-testid="openapi-error">
          <ErrorBox error={error} />
        </div>
      ) : null}
      {imported ? (
        <>
          <Field label="Connector name" htmlFor="connector-name" error={nameError} required help="Steps use it: <name>.<action>">
            <input id="connector-name" className="mono" value={name} onChange={(e) => setName(e.target.value.trim())} />
          </Field>
          <div className="row gap-s" style={{ alignItems: 'center', marginBottom: 8 }}>
            <strong data-testid="openapi-summary">
              {selected.size} of {ops.length} operation{ops.length === 1 ? '' : 's'} chosen
            </strong>
            <button type="button" className="btn btn-small btn-ghost" onClick={() => toggle(ops.map((o) => o.operation), true)}>
              All
            </button>
            <button type="button" className="btn btn-small btn-ghost" onClick={() => setSelected(new Set())}>
              None
            </button>
            <input type="search" className="grow" aria-label="Filter operations" placeholder="Filter by name, path or tag" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </div>
          {tooMany ? <div className="field-error">Too many single operations to name; choose all, or fewer.</div> : null}
          {imported.notes?.length ? (
            <details className="small muted">
              <summary>{imported.notes.length} note(s) from the import</summary>
              <ul>
                {imported.notes.map((n, i) => (
                  <li key={i}>{n}</li>
                ))}
              </ul>
            </details>
          ) : null}
          <div className="op-list" data-testid="openapi-operations">
            {groups.map(([tag, list]) => {
              const visible = list.filter(shown);
              if (!visible.length) return null;
              const keys = visible.map((o) => o.operation);
              const on = keys.filter((k) => selected.has(k)).length;
              return (
                <fieldset key={tag} className="op-group" data-testid="openapi-tag" data-tag={tag}>
                  <legend>
                    <label>
                      <input
                        type="checkbox"
                        aria-label={`All of ${tag}`}
                        checked={on === keys.length}
                        ref={(el) => {
                          if (el) el.indeterminate = on > 0 && on < keys.length;
                        }}
                        onChange={(e) => toggle(keys, e.target.checked)}
                      />{' '}
                      {tag} <span className="muted small">({list.length})</span>
                    </label>
                  </legend>
                  {visible.map((op) => (
                    <label key={op.operation + op.method + op.path} className="op-row" data-testid="openapi-op" data-operation={op.operation} data-action={op.action}>
                      <input type="checkbox" checked={selected.has(op.operation)} onChange={(e) => toggle([op.operation], e.target.checked)} />
                      <span className="op-method mono">{op.method}</span>
                      <span className="grow">
                        {op.title || op.action} <code className="small muted">{op.path}</code>
                      </span>
                    </label>
                  ))}
                </fieldset>
              );
            })}
          </div>
        </>
      ) : null}
    </Modal>
  );
}

export function ConnectorsPage() {
  useDocumentTitle('Connectors');
  const s = useSession();
  const isAdmin = s.open || s.role === 'admin';
  const catalog = useCatalog();
  const toast = useToast();
  const [adding, setAdding] = useState(false);
  const [q, setQ] = useState('');
  const rows = useMemo(() => {
    const n = q.trim().toLowerCase();
    return catalog.connectors
      .filter((c) => !n || c.name.toLowerCase().includes(n) || (c.title ?? '').toLowerCase().includes(n))
      .sort((a, b) => (a.title ?? a.name).localeCompare(b.title ?? b.name));
  }, [catalog.connectors, q]);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Connectors</h1>
          <p className="muted small sub">The applications steps can talk to: built into weft, or added from a manifest or an OpenAPI document.</p>
        </div>
        {isAdmin ? (
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)} data-testid="new-connector-openapi">
            <Icon name="plus" /> New connector from OpenAPI
          </button>
        ) : null}
      </div>
      <div className="toolbar" role="search">
        <div className="search-box">
          <Icon name="search" />
          <input type="search" aria-label="Search connectors" placeholder="Search by name" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
      </div>
      {catalog.loading && !catalog.connectors.length ? (
        <Loading what="Loading connectors…" />
      ) : catalog.error ? (
        <ErrorBox error={catalog.error} onRetry={catalog.retry} />
      ) : !rows.length ? (
        <Empty>No connector matches.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="connectors-table">
            <thead>
              <tr>
                <th>Connector</th>
                <th>Origin</th>
                <th>Actions</th>
                <th>New-data sources</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.name} data-testid="connector-row" data-connector-name={c.name} data-source={c.source ?? 'builtin'}>
                  <td data-label="Connector">
                    <div className="row gap-s" style={{ alignItems: 'center' }}>
                      <ConnectorIcon icon={c.icon} name={c.name} size={22} />
                      <div>
                        <div>
                          <strong>{c.title ?? c.name}</strong> <code className="small muted">{c.name}</code>
                        </div>
                        {c.description ? <div className="small muted">{c.description}</div> : null}
                      </div>
                    </div>
                  </td>
                  <td data-label="Origin" className="small">
                    {c.source === 'user' ? <span className="pill">added</span> : <span className="muted">built in</span>}
                    {c.version ? <span className="muted"> · v{c.version}</span> : null}
                  </td>
                  <td data-label="Actions" className="small" data-testid="connector-actions" title={(c.actions ?? []).map((a) => a.name).join(', ')}>
                    {c.actions?.length ?? 0}
                  </td>
                  <td data-label="Sources" className="small">
                    {(c.poll_sources ?? []).map((p) => p.title ?? p.name).join(', ') || <span className="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding ? (
        <OpenApiDialog
          onClose={() => setAdding(false)}
          onSaved={(c) => {
            setAdding(false);
            catalog.retry();
            toast(`Connector ${c.name} saved with ${c.actions?.length ?? 0} action(s)`, 'success');
          }}
        />
      ) : null}
    </div>
  );
}
