// The "New data" trigger's form (trigger type `poll`, docs/polling.md): the
// source (every connector's `poll_sources` in the catalog), its connection,
// the source's inputs drawn from its declared fields (as StepForm draws an
// action's), how often (a duration or the full ScheduleEditor), start, emit,
// and Check now: what the next poll of the saved flow would pick.
import { useState } from 'react';
import { flows, type ApiErrorDetail, type Connection, type Json, type JsonObject, type PollCheck, type PollSettings, type Schedule } from '../../api';
import { needsConnection, type Catalog } from '../../lib/catalog';
import { pollSources } from '../../lib/poll';
import { fmtBytes, isFileValue } from '../../lib/files';
import { fmtDateTime } from '../../lib/time';
import { ConnectionForm } from '../../pages/ConnectionsPage';
import { FieldInput } from '../FieldInput';
import { Icon } from '../icons';
import { JsonView } from '../JsonView';
import { ErrorBox, Field, Spinner } from '../ui';
import { defaultSchedule, ScheduleEditor } from './ScheduleEditor';

export { defaultPoll, pollLine } from '../../lib/poll';

function err(errors: ApiErrorDetail[], suffix: string): string | null {
  return errors.find((e) => { const p = e.path ?? ''; return p.endsWith(suffix) || p.includes(`${suffix}.`) || p.includes(`${suffix}[`); })?.message ?? null;
}

export function PollForm({
  value,
  onChange,
  catalog,
  connections,
  flowId,
  dirty,
  errors,
  onConnectionCreated,
}: {
  value: PollSettings;
  onChange: (p: PollSettings) => void;
  catalog: Catalog;
  connections: Connection[];
  /** The saved flow's id (Check now needs one). */
  flowId?: string;
  /** Unsaved changes: Check now uses the saved version. */
  dirty: boolean;
  errors: ApiErrorDetail[];
  /** A connection made with "New" (in a dialog, the flow stays unsaved): the caller adds it to its list. */
  onConnectionCreated?: (c: Connection) => void;
}) {
  const [newConnection, setNewConnection] = useState(false);
  const sources = pollSources(catalog.connectors);
  const uses = value.source?.uses ?? '';
  const ref = sources.find((s) => s.uses === uses);
  const connName = ref?.connector.name ?? (uses.includes('.') ? uses.slice(0, uses.lastIndexOf('.')) : '');
  const usable = connections.filter((c) => c.connector === connName);
  const withObj: JsonObject = value.source?.with ?? {};
  const scheduled = typeof value.every === 'object' && value.every !== null;
  const setSource = (patch: Partial<NonNullable<PollSettings['source']>>) => onChange({ ...value, source: { ...value.source, ...patch } });
  const setWith = (name: string, v: Json | undefined) => {
    const w = { ...withObj };
    if (v === undefined) delete w[name];
    else w[name] = v;
    setSource({ with: w });
  };
  const inputNames = new Set((ref?.source.inputs ?? []).map((f) => `trigger.poll.source.with.${f.name}`));
  const placed = ['trigger.poll.every', 'trigger.poll.source.uses', 'trigger.poll.source.connection', 'trigger.poll.start', 'trigger.poll.emit', 'trigger.poll.batch_size', 'trigger.poll.remember'];
  const unplaced = errors.filter((e) => {
    const p = e.path ?? '';
    return !placed.some((k) => p === k || p.startsWith(k + '.')) && ![...inputNames].some((k) => p === k || p.startsWith(k + '.') || p.startsWith(k + '['));
  });

  return (
    <div className="poll-form" data-testid="poll-form">
      {unplaced.length ? (
        <div className="problems problems-error" role="alert">
          {unplaced.map((e, i) => (
            <div key={i}>
              {e.path ? <code>{e.path.replace(/^trigger\.poll\./, '')}</code> : null} {e.message}
            </div>
          ))}
        </div>
      ) : null}
      <Field label="Source" htmlFor="poll-source" error={err(errors, 'poll.source.uses')} required>
        <select
          id="poll-source"
          value={uses}
          onChange={(e) => {
            const next = sources.find((s) => s.uses === e.target.value);
            const sameConnector = next && next.connector.name === connName;
            onChange({ ...value, source: { uses: e.target.value, connection: sameConnector ? value.source?.connection : undefined, with: {} } });
          }}
        >
          {!ref ? <option value={uses}>{uses ? `${uses} (not in the catalog)` : 'Choose a source…'}</option> : null}
          {sources.map((s) => (
            <option key={s.uses} value={s.uses}>
              {s.connector.title ?? s.connector.name} — {s.source.title ?? s.source.name}
            </option>
          ))}
        </select>
      </Field>
      {ref?.source.description ? <p className="muted small">{ref.source.description}</p> : null}
      {!sources.length && !catalog.loading ? (
        <div className="note note-warn">
          <Icon name="alert" /> <span>The catalog lists no sources of new data.</span>
        </div>
      ) : null}

      {ref && needsConnection(ref.connector) ? (
        <Field label="Connection" htmlFor="poll-connection" error={err(errors, 'poll.source.connection')} required>
          <div className="row gap-s">
            <select id="poll-connection" className="grow" value={value.source?.connection ?? ''} onChange={(e) => setSource({ connection: e.target.value || undefined })}>
              <option value="">Choose a {ref.connector.title ?? connName} connection…</option>
              {usable.map((c) => (
                <option key={c.id} value={c.name}>
                  {c.name}
                  {c.active ? '' : ' (inactive)'}
                </option>
              ))}
              {value.source?.connection && !usable.some((c) => c.name === value.source?.connection) ? (
                <option value={value.source.connection}>{value.source.connection} (not found)</option>
              ) : null}
            </select>
            <button type="button" className="btn btn-small" onClick={() => setNewConnection(true)} data-testid="poll-new-connection">
              New
            </button>
          </div>
          {newConnection ? (
            <ConnectionForm
              connectors={catalog.connectors}
              existing={null}
              initialConnector={connName}
              onClose={() => setNewConnection(false)}
              onSaved={(c) => {
                setNewConnection(false);
                onConnectionCreated?.(c);
                setSource({ connection: c.name });
              }}
            />
          ) : null}
        </Field>
      ) : null}

      {ref?.source.inputs?.length ? (
        <fieldset className="inputs">
          <legend>{ref.source.title ?? 'Source'} settings</legend>
          {ref.source.inputs.map((f) => (
            <FieldInput key={f.name} field={f} idPrefix="poll" value={withObj[f.name]} onChange={(v) => setWith(f.name, v)} error={err(errors, `poll.source.with.${f.name}`)} />
          ))}
        </fieldset>
      ) : !ref && uses ? (
        <FieldInput
          field={{ name: 'with', title: 'Source settings (with)', type: 'object', help: 'The source’s inputs as JSON' }}
          idPrefix="poll"
          value={withObj}
          onChange={(v) => setSource({ with: (v as JsonObject) ?? {} })}
          error={err(errors, 'poll.source.with')}
        />
      ) : null}

      <Field label="Check" htmlFor="poll-every-mode" error={scheduled ? null : err(errors, 'poll.every')}>
        <div className="row gap-s">
          <select
            id="poll-every-mode"
            style={{ width: 'auto', flex: '0 0 auto' }}
            value={scheduled ? 'schedule' : 'interval'}
            onChange={(e) => onChange({ ...value, every: e.target.value === 'schedule' ? defaultSchedule() : '5m' })}
          >
            <option value="interval">Every</option>
            <option value="schedule">On a schedule</option>
          </select>
          {!scheduled ? (
            <input
              id="poll-every"
              aria-label="Interval"
              className="grow mono"
              style={{ flex: '1 1 auto', width: 'auto', minWidth: 0 }}
              placeholder="5m"
              value={typeof value.every === 'string' ? value.every : ''}
              onChange={(e) => onChange({ ...value, every: e.target.value })}
            />
          ) : null}
        </div>
        {!scheduled ? <div className="small muted">A duration from 1s to 7d: 30s, 1m, 15m, 1h.</div> : null}
      </Field>
      {scheduled ? (
        <ScheduleEditor
          value={value.every as Schedule}
          onChange={(s) => onChange({ ...value, every: s })}
          errors={errors.filter((e) => (e.path ?? '').startsWith('trigger.poll.every'))}
          noOnce
        />
      ) : null}

      <div className="grid-2">
        <Field label="Start with" htmlFor="poll-start" error={err(errors, 'poll.start')}>
          <select id="poll-start" value={value.start ?? 'new'} onChange={(e) => onChange({ ...value, start: e.target.value as 'new' })}>
            <option value="new">New items only</option>
            <option value="all">Everything there now</option>
          </select>
        </Field>
        <Field label="Runs" htmlFor="poll-emit" error={err(errors, 'poll.emit')}>
          <select
            id="poll-emit"
            value={value.emit ?? 'each'}
            onChange={(e) => {
              const emit = e.target.value as 'each' | 'batch';
              const next: PollSettings = { ...value, emit };
              if (emit === 'batch') next.batch_size = value.batch_size ?? 100;
              else delete next.batch_size;
              onChange(next);
            }}
          >
            <option value="each">One run per item</option>
            <option value="batch">One run per batch</option>
          </select>
        </Field>
      </div>
      {value.emit === 'batch' ? (
        <Field label="Batch size" htmlFor="poll-batch-size" error={err(errors, 'poll.batch_size')} help="1 to 10000 items per run">
          <input id="poll-batch-size" type="number" min={1} max={10000} value={value.batch_size ?? 100} onChange={(e) => onChange({ ...value, batch_size: e.target.value === '' ? undefined : Number(e.target.value) })} />
        </Field>
      ) : null}
      <Field label="Remember items for" htmlFor="poll-remember" error={err(errors, 'poll.remember')} help="How long seen items are kept (default 30d, at least 1m)">
        <input id="poll-remember" className="mono" placeholder="30d" value={value.remember ?? ''} onChange={(e) => onChange({ ...value, remember: e.target.value || undefined })} />
      </Field>

      <CheckNow flowId={flowId} dirty={dirty} />
    </div>
  );
}

function itemName(item: Json | undefined): string | null {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return null;
  const o = item as JsonObject;
  for (const k of ['name', 'path', 'title', 'id', 'key']) if (typeof o[k] === 'string' || typeof o[k] === 'number') return String(o[k]);
  return null;
}

/** An ISO time in the user's zone; anything else (an FTP/SFTP listing's "Dec 7 13:08") as listed. */
function fmtModified(v: Json | undefined): string {
  if (typeof v === 'string') return /^\d{4}-\d\d-\d\dT/.test(v) ? fmtDateTime(v) : v;
  if (typeof v === 'number') return fmtDateTime(new Date(v * (v < 1e12 ? 1000 : 1)).toISOString());
  return '—';
}

function CheckNow({ flowId, dirty }: { flowId?: string; dirty: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<PollCheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    if (!flowId) return;
    setBusy(true);
    setError(null);
    try {
      setResult(await flows.checkPoll(flowId));
    } catch (e) {
      setResult(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const items = result?.items ?? [];
  // A table when the items look like files (path/name/size), JSON otherwise.
  const tabular = items.length > 0 && items.every((i) => itemName(i.item) !== null);
  return (
    <div className="poll-check" data-testid="poll-check">
      <div className="row gap-s">
        <button type="button" className="btn" onClick={run} disabled={!flowId || busy} data-testid="poll-check-button" title={!flowId ? 'Save the flow first' : 'List the source as the next poll would; starts no run'}>
          {busy ? <Spinner /> : <Icon name="search" size={14} />} Check now
        </button>
        <span className="small muted" data-testid="poll-check-note">
          {!flowId ? 'Save first: Check now asks the saved flow.' : dirty ? 'Checks the saved version (you have unsaved changes).' : 'A dry run: no run starts and nothing is marked as seen.'}
        </span>
      </div>
      {error ? (
        <div data-testid="poll-check-error">
          <ErrorBox error={error} />
        </div>
      ) : null}
      {result ? (
        <div className="poll-check-result" data-testid="poll-check-result" data-count={items.length}>
          <p className="small">
            {items.length ? (
              <strong>
                The next poll would pick {items.length}
                {result.more ? '+' : ''} item{items.length === 1 ? '' : 's'}
              </strong>
            ) : (
              <strong>Nothing new</strong>
            )}
            {result.known ? <span className="muted"> · {result.known} already seen</span> : null}
            {result.last_poll_at ? <span className="muted"> · last poll {fmtDateTime(result.last_poll_at)}</span> : null}
          </p>
          {result.baseline && items.length ? (
            <div className="note" data-testid="poll-check-baseline">
              <Icon name="info" /> <span>Start with “New items only”: the first poll after activating records these as seen and starts no runs for them.</span>
            </div>
          ) : null}
          {result.last_error ? (
            <div className="note note-warn" data-testid="poll-check-last-error">
              <Icon name="alert" /> <span>The last poll failed: {result.last_error}</span>
            </div>
          ) : null}
          {tabular ? (
            <div className="table-wrap">
              <table className="table small">
                <thead>
                  <tr>
                    <th>Item</th>
                    <th>Size</th>
                    <th>Modified</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((i, n) => {
                    const o = i.item as JsonObject;
                    const path = typeof o.path === 'string' ? o.path : null;
                    return (
                      <tr key={i.key ?? n} data-testid="poll-item" data-item-name={itemName(o) ?? ''}>
                        <td>
                          <div>{itemName(o)}</div>
                          {path && path !== itemName(o) ? <div className="muted mono">{path}</div> : null}
                        </td>
                        <td>{typeof o.size === 'number' ? fmtBytes(o.size) : isFileValue(o.file) ? fmtBytes((o.file as { size: number }).size) : '—'}</td>
                        <td>{fmtModified(o.modified)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : items.length ? (
            <ul className="poll-items">
              {items.map((i, n) => (
                <li key={i.key ?? n} data-testid="poll-item" data-item-name={i.key ?? ''}>
                  <JsonView value={(i.item ?? null) as Json} />
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
