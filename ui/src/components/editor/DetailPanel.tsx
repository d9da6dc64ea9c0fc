// The editor's Detail panel: name, description, version and history,
// Active toggle, webhook URL, schedule summary and recent runs.
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { flows, runs, schedules, type ApiErrorDetail, type Flow, type FlowDocument, type FlowVersion, type Json } from '../../api';
import { cleanDocument, toDocument } from '../../lib/flow';
import { useAsync } from '../../lib/hooks';
import { diffLines, sideBySide, summarizeChange, toYaml } from '../../lib/versions';
import { fmtDateTime, fmtDuration, fmtRelative, fmtScheduleTime } from '../../lib/time';
import { Icon } from '../icons';
import { ErrorBox, Field, Loading, Modal, Spinner, StatusBadge, Toggle } from '../ui';
import { pollLine } from './PollForm';
import { SampleEditor } from './TestStep';
import { WebhookUrlBox } from './TriggerForm';

function ScheduleSummary({ flow }: { flow: Flow }) {
  const sched = flow.trigger?.schedule;
  const [desc, setDesc] = useState<string | null>(flow.schedule_summary ?? null);
  // The scheduler fills next_run_at in shortly after activation (the activate
  // answer and a read right after it can still say null): until then the
  // preview's first fire time stands in.
  const [previewNext, setPreviewNext] = useState<string | null>(null);
  const needPreview = !!sched && (!flow.schedule_summary || (flow.active && !flow.next_run_at));
  useEffect(() => {
    if (!sched || !needPreview) return;
    const ctl = new AbortController();
    schedules
      .preview(sched, 1, undefined, ctl.signal)
      .then((p) => {
        if (!flow.schedule_summary) setDesc(p.description ?? null);
        setPreviewNext(p.next?.[0] ?? null);
      })
      .catch(() => {});
    return () => ctl.abort();
  }, [sched, flow.schedule_summary, needPreview]);
  const next = flow.next_run_at ?? previewNext;
  if (!sched) return null;
  return (
    <Field label="Schedule">
      <div className="small">
        {desc ? <div data-testid="detail-schedule-summary">{desc}</div> : null}
        <div className="muted" data-testid="detail-next-run">
          Next run:{' '}
          {!flow.active ? 'when active' : next ? fmtScheduleTime(next, sched.timezone) : 'none'}
        </div>
        {flow.missed_fires ? (
          <div className="pill pill-warn" data-testid="missed-fires">
            {flow.missed_fires} missed fire time{flow.missed_fires === 1 ? '' : 's'}
          </div>
        ) : null}
      </div>
    </Field>
  );
}

// YAML of two versions side by side, the changed lines marked.
function VersionDiff({ from, to }: { from: FlowVersion; to: FlowVersion }) {
  const rows = useMemo(
    () => sideBySide(diffLines(toYaml((from.document ?? null) as unknown as Json), toYaml((to.document ?? null) as unknown as Json))),
    [from, to],
  );
  const changed = rows.filter((r) => r.left?.op !== 'same' || r.right?.op !== 'same').length;
  return (
    <div>
      <p className="small muted" data-testid="diff-summary">
        {summarizeChange(from.document, to.document)} · {changed} line{changed === 1 ? '' : 's'} differ
      </p>
      <table className="version-diff mono small" data-testid="version-diff" aria-label={`Version ${from.version} and version ${to.version}`}>
        <thead>
          <tr>
            <th>Version {from.version}</th>
            <th>Version {to.version}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td className={r.left ? `diff-${r.left.op}` : 'diff-none'} data-op={r.left?.op ?? 'none'}>
                {r.left?.text ?? ''}
              </td>
              <td className={r.right ? `diff-${r.right.op}` : 'diff-none'} data-op={r.right?.op ?? 'none'}>
                {r.right?.text ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function History({
  flow,
  onRestore,
  onRestored,
  dirty,
  canEdit,
}: {
  flow: Flow;
  onRestore: (doc: FlowDocument, v: number) => void;
  onRestored?: (f: Flow) => void;
  dirty?: boolean;
  canEdit?: boolean;
}) {
  const list = useAsync((s) => flows.versions(flow.id, s), [flow.id, flow.version]);
  const [viewing, setViewing] = useState<FlowVersion | null>(null);
  const [comparing, setComparing] = useState<[FlowVersion, FlowVersion] | null>(null);
  const [loadingV, setLoadingV] = useState<number | null>(null);
  const [restoring, setRestoring] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const versions = useMemo(() => [...(list.data ?? [])].sort((a, b) => b.version - a.version), [list.data]);
  const byVersion = useMemo(() => new Map(versions.map((v) => [v.version, v])), [versions]);
  const [fromV, setFromV] = useState<number | null>(null);
  const [toV, setToV] = useState<number | null>(null);
  const compareFrom = fromV ?? versions[1]?.version ?? null;
  const compareTo = toV ?? versions[0]?.version ?? null;

  const withDocument = async (v: FlowVersion): Promise<FlowVersion> => {
    if (v.document) return v;
    const full = await flows.version(flow.id, v.version);
    return { ...v, document: full.document ?? (full as unknown as FlowDocument) };
  };
  const open = async (v: FlowVersion) => {
    setLoadingV(v.version);
    try {
      setViewing(await withDocument(v));
    } catch (e) {
      setErr(e);
    } finally {
      setLoadingV(null);
    }
  };
  const compare = async () => {
    const a = compareFrom !== null ? byVersion.get(compareFrom) : undefined;
    const b = compareTo !== null ? byVersion.get(compareTo) : undefined;
    if (!a || !b) return;
    try {
      setComparing([await withDocument(a), await withDocument(b)]);
    } catch (e) {
      setErr(e);
    }
  };
  // Restore: the old document saved as a new version (on top of the latest).
  const restore = async (v: FlowVersion) => {
    if (!v.document) return;
    setRestoring(true);
    setErr(null);
    try {
      const f = await flows.save(flow.id, cleanDocument(toDocument(v.document)), flow.version);
      setViewing(null);
      onRestored?.(f);
    } catch (e) {
      setErr(e);
    } finally {
      setRestoring(false);
    }
  };
  return (
    <div className="history">
      {list.loading && !list.data ? <Spinner /> : null}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {err ? <ErrorBox error={err} /> : null}
      <ul className="history-list" aria-label="Version history">
        {versions.map((v) => (
          <li key={v.version} data-testid="version-row" data-version={v.version}>
            <button type="button" className="link-btn" onClick={() => open(v)}>
              Version {v.version}
            </button>
            {v.version === flow.version ? <span className="pill pill-small">latest</span> : null}
            {loadingV === v.version ? <Spinner /> : null}
            <span className="small muted">
              {fmtDateTime(v.created_at, undefined, false)}
              {v.created_by || v.updated_by ? ` · ${v.created_by ?? v.updated_by}` : ''}
            </span>
            <div className="small" data-testid="version-summary">
              {summarizeChange(byVersion.get(v.version - 1)?.document, v.document)}
            </div>
          </li>
        ))}
      </ul>
      {versions.length > 1 ? (
        <div className="row gap-s small history-compare">
          <select aria-label="Compare from version" data-testid="compare-from" value={compareFrom ?? ''} onChange={(e) => setFromV(Number(e.target.value))}>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
          <span>with</span>
          <select aria-label="Compare to version" data-testid="compare-to" value={compareTo ?? ''} onChange={(e) => setToV(Number(e.target.value))}>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
          <button type="button" className="btn btn-small" onClick={compare} data-testid="compare-versions">
            Compare
          </button>
        </div>
      ) : null}
      {comparing ? (
        <Modal title={`Version ${comparing[0].version} → version ${comparing[1].version}`} wide onClose={() => setComparing(null)} testId="diff-modal">
          <VersionDiff from={comparing[0]} to={comparing[1]} />
        </Modal>
      ) : null}
      {viewing ? (
        <Modal
          title={`Version ${viewing.version}`}
          wide
          onClose={() => setViewing(null)}
          testId="version-modal"
          footer={
            viewing.version !== flow.version && viewing.document ? (
              <>
                <button
                  type="button"
                  className="btn"
                  onClick={() => {
                    onRestore(viewing.document!, viewing.version);
                    setViewing(null);
                  }}
                >
                  Load into the editor
                </button>
                {canEdit && onRestored ? (
                  <button
                    type="button"
                    className="btn btn-primary"
                    onClick={() => restore(viewing)}
                    disabled={restoring || dirty}
                    data-testid="restore-version"
                    title={dirty ? 'Save or discard your changes first' : `Save version ${viewing.version}'s document as version ${flow.version + 1}`}
                  >
                    {restoring ? <Spinner /> : null} Restore as a new version
                  </button>
                ) : null}
              </>
            ) : undefined
          }
        >
          <p className="small muted">
            Saved {fmtDateTime(viewing.created_at)}
            {viewing.created_by ? ` by ${viewing.created_by}` : ''}. Restoring saves it as a new version; loading it into the editor makes unsaved changes.
          </p>
          <pre className="version-yaml" data-testid="version-yaml">
            {toYaml((viewing.document ?? null) as unknown as Json)}
          </pre>
        </Modal>
      ) : null}
    </div>
  );
}

function RecentRuns({ flowId, version }: { flowId: string; version: number }) {
  const list = useAsync((s) => runs.list({ flow_id: flowId, limit: 5 }, s), [flowId, version]);
  if (list.loading && !list.data) return <Loading />;
  if (list.error) return <ErrorBox error={list.error} onRetry={list.reload} />;
  const items = list.data?.runs ?? [];
  return (
    <div>
      {items.length ? (
        <ul className="recent-runs" aria-label="Recent runs">
          {items.map((r) => (
            <li key={r.id}>
              <Link to={`/runs/${r.id}`}>
                <StatusBadge status={r.status} small />
              </Link>
              <span className="small">{fmtRelative(r.started_at ?? r.created_at)}</span>
              <span className="small muted">{fmtDuration(r.duration_ms)}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No runs yet.</p>
      )}
      <div className="row gap-s">
        <Link to={`/runs?flow_id=${encodeURIComponent(flowId)}`} className="small">
          All runs in the Process Log
        </Link>
        <button type="button" className="link-btn small" onClick={list.reload}>
          Refresh
        </button>
      </div>
    </div>
  );
}

export function DetailPanel({
  doc,
  onChange,
  flow,
  onToggleActive,
  toggling,
  onRotate,
  onRestore,
  onRestored,
  dirty,
  errors,
  canEdit,
}: {
  doc: FlowDocument;
  onChange: (d: FlowDocument) => void;
  flow: Flow | null;
  onToggleActive: (v: boolean) => void;
  toggling: boolean;
  onRotate: () => void;
  onRestore: (doc: FlowDocument, v: number) => void;
  /** After "Restore as a new version" saved an old document: the new latest flow. */
  onRestored?: (f: Flow) => void;
  /** Unsaved changes in the editor (a restore would drop them: refused until saved or discarded). */
  dirty?: boolean;
  errors: ApiErrorDetail[];
  canEdit: boolean;
}) {
  const err = (p: string) => errors.find((e) => e.path === p)?.message ?? null;
  return (
    <div className="detail-panel" data-testid="detail-panel">
      <h2>Details</h2>
      <Field label="Name" htmlFor="flow-name" error={err('name')} required>
        <input id="flow-name" value={doc.name} onChange={(e) => onChange({ ...doc, name: e.target.value })} placeholder="e.g. Sync new assets" />
      </Field>
      <Field label="Description" htmlFor="flow-description" error={err('description')}>
        <textarea id="flow-description" rows={2} value={doc.description ?? ''} onChange={(e) => onChange({ ...doc, description: e.target.value })} />
      </Field>
      <Field label="Sample data" htmlFor="flow-sample" error={err('sample')} help="Pinned JSON that Test step resolves a step's inputs against; saved with the flow, never used by real runs">
        <SampleEditor doc={doc} onChange={onChange} />
      </Field>
      {flow ? (
        <>
          <Field label="Active">
            <Toggle checked={flow.active} onChange={onToggleActive} label={flow.active ? 'Active' : 'Inactive'} busy={toggling} disabled={!canEdit} showLabel testId="detail-active-toggle" />
          </Field>
          {doc.trigger.type === 'webhook' ? (
            <Field label="Webhook URL">
              <WebhookUrlBox url={flow.webhook_url} onRotate={canEdit ? onRotate : undefined} />
            </Field>
          ) : null}
          {doc.trigger.type === 'schedule' ? <ScheduleSummary flow={flow} /> : null}
          {doc.trigger.type === 'poll' ? (
            <Field label="Trigger">
              <span data-testid="detail-trigger">
                New data <span className="muted mono small">{pollLine(doc.trigger.poll)}</span>
              </span>
            </Field>
          ) : null}
          <Field label={`Version ${flow.version}`}>
            <History flow={flow} onRestore={onRestore} onRestored={onRestored} dirty={dirty} canEdit={canEdit} />
          </Field>
          <Field label="Recent runs">
            <RecentRuns flowId={flow.id} version={flow.version} />
          </Field>
          <p className="small muted">
            <Icon name="info" size={12} /> Created {fmtDateTime(flow.created_at, undefined, false)}
            {flow.updated_at ? ` · updated ${fmtDateTime(flow.updated_at, undefined, false)}` : ''}
            {flow.updated_by ? ` by ${flow.updated_by}` : ''}
          </p>
        </>
      ) : (
        <p className="muted small">This flow is not saved yet. Save it to get a version history{doc.trigger.type === 'webhook' ? ' and its webhook URL' : ''}.</p>
      )}
    </div>
  );
}
