// Process Log: runs across flows (GET /runs) with filters kept in the URL
// (flow_id, status, trigger, and a time window: `since` is 1h/24h/7d/30d or
// "custom" with `from`/`to`), status colours, durations and cursor paging.
// The server filters by time (GET /runs?since=&until=). Refreshes itself while
// some run on screen is unfinished. Failed runs can be selected and retried
// together (POST /runs/retry), from their failed step.
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { errorMessage, flows, runs, type Run } from '../api';
import { useCanEdit } from '../components/Auth';
import { useToast } from '../components/Toast';
import { Icon } from '../components/icons';
import { TERMINAL, triggerTypeOf } from '../components/RunView';
import { Empty, ErrorBox, Loading, Spinner, StatusBadge } from '../components/ui';
import { useAsync, useDocumentTitle } from '../lib/hooks';
import { fmtDateTime, fmtDuration, fmtRelative, userZone } from '../lib/time';

const PAGE = 50;
const SINCE: Record<string, number> = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

// A datetime-local value ("2026-11-28T09:30") in the user's zone, as an instant.
function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function RunsPage() {
  useDocumentTitle('Process Log');
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const flowId = params.get('flow_id') ?? '';
  const status = params.get('status') ?? '';
  const trigger = params.get('trigger') ?? '';
  const since = params.get('since') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const flowList = useAsync((s) => flows.list(s), []);

  const [items, setItems] = useState<Run[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const canEdit = useCanEdit();
  const toast = useToast();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkVersion, setBulkVersion] = useState<'original' | 'latest'>('original');
  const [retrying, setRetrying] = useState(false);

  const query = useMemo(() => {
    let sinceAt: string | undefined;
    let untilAt: string | undefined;
    if (SINCE[since]) sinceAt = new Date(Date.now() - SINCE[since]).toISOString();
    if (since === 'custom') {
      sinceAt = localToIso(from);
      untilAt = localToIso(to);
    }
    return { flow_id: flowId || undefined, status: status || undefined, trigger: trigger || undefined, since: sinceAt, until: untilAt, limit: PAGE };
  }, [flowId, status, trigger, since, from, to]);

  useEffect(() => {
    const ctl = new AbortController();
    if (tick === 0) setLoading(true);
    runs
      .list(query, ctl.signal)
      .then((r) => {
        setItems((prev) => {
          // On a refresh, keep pages already loaded beyond the first.
          if (tick === 0) return r.runs ?? [];
          const fresh = r.runs ?? [];
          const ids = new Set(fresh.map((x) => x.id));
          return [...fresh, ...prev.slice(PAGE).filter((x) => !ids.has(x.id))];
        });
        if (tick === 0) setCursor(r.next_cursor ?? null);
        setError(null);
      })
      .catch((e) => {
        if (!ctl.signal.aborted) setError(e);
      })
      .finally(() => !ctl.signal.aborted && setLoading(false));
    return () => ctl.abort();
  }, [query, tick]);

  useEffect(() => setTick(0), [query]);

  // Refresh while something is unfinished.
  const unfinished = items.some((r) => !TERMINAL.has(r.status));
  useEffect(() => {
    if (!unfinished) return;
    const t = setInterval(() => setTick((x) => x + 1), 3000);
    return () => clearInterval(t);
  }, [unfinished]);

  const loadMore = async () => {
    if (!cursor) return;
    setMore(true);
    try {
      const r = await runs.list({ ...query, cursor });
      setItems((prev) => [...prev, ...(r.runs ?? []).filter((x) => !prev.some((p) => p.id === x.id))]);
      setCursor(r.next_cursor ?? null);
    } catch (e) {
      setError(e);
    } finally {
      setMore(false);
    }
  };

  const set = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v);
    else p.delete(k);
    setParams(p, { replace: true });
  };

  const shown = items;
  const failedShown = shown.filter((r) => r.status === 'failed');
  // Only runs still on screen and still failed stay selected.
  const chosen = failedShown.filter((r) => selected.has(r.id)).map((r) => r.id);
  const toggle = (id: string, on: boolean) =>
    setSelected((cur) => {
      const next = new Set(cur);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allChosen = failedShown.length > 0 && chosen.length === failedShown.length;

  const retrySelected = async () => {
    setRetrying(true);
    try {
      const r = await runs.retryMany(chosen, { from: 'failed_step', version: bulkVersion });
      const refused = r.results.filter((x) => x.status !== 202);
      if (refused.length) {
        toast(
          `Retried ${r.retried} of ${r.results.length} runs; ${refused.length} could not be: ${refused[0].error?.message ?? refused[0].status}`,
          'error',
        );
      } else {
        toast(`Retried ${r.retried} ${r.retried === 1 ? 'run' : 'runs'}`, 'success');
      }
      setSelected(new Set());
      setTick((x) => x + 1);
    } catch (e) {
      toast(`Retry failed: ${errorMessage(e)}`, 'error');
    } finally {
      setRetrying(false);
    }
  };

  const flowName = (id: string, r?: Run) => r?.flow_name ?? flowList.data?.find((f) => f.id === id)?.name ?? id;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Process Log</h1>
          <p className="muted small sub">Every run of every flow. Times in {userZone}.</p>
        </div>
        <button type="button" className="btn" onClick={() => setTick((x) => x + 1)}>
          <Icon name="retry" /> Refresh
        </button>
      </div>
      <div className="toolbar" role="search" aria-label="Filter runs">
        <label className="inline-label">
          Flow
          <select aria-label="Filter by flow" value={flowId} onChange={(e) => set('flow_id', e.target.value)}>
            <option value="">All flows</option>
            {(flowList.data ?? [])
              .slice()
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                </option>
              ))}
            {flowId && flowList.data && !flowList.data.some((f) => f.id === flowId) ? <option value={flowId}>{flowId}</option> : null}
          </select>
        </label>
        <label className="inline-label">
          Status
          <select aria-label="Filter by status" value={status} onChange={(e) => set('status', e.target.value)}>
            <option value="">Any</option>
            {['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-label">
          Trigger
          <select aria-label="Filter by trigger" value={trigger} onChange={(e) => set('trigger', e.target.value)}>
            <option value="">Any</option>
            <option value="manual">Manual</option>
            <option value="webhook">Webhook</option>
            <option value="schedule">Schedule</option>
            <option value="poll">New data</option>
            <option value="flow">Called by a flow</option>
          </select>
        </label>
        <label className="inline-label">
          Time
          <select aria-label="Filter by time" value={since} onChange={(e) => set('since', e.target.value)}>
            <option value="">Any time</option>
            <option value="1h">Last hour</option>
            <option value="24h">Last 24 hours</option>
            <option value="7d">Last 7 days</option>
            <option value="30d">Last 30 days</option>
            <option value="custom">Custom range…</option>
          </select>
        </label>
        {since === 'custom' ? (
          <>
            <label className="inline-label">
              From
              <input type="datetime-local" aria-label="Runs from" data-testid="runs-from" value={from} onChange={(e) => set('from', e.target.value)} />
            </label>
            <label className="inline-label">
              To
              <input type="datetime-local" aria-label="Runs until" data-testid="runs-to" value={to} onChange={(e) => set('to', e.target.value)} />
            </label>
          </>
        ) : null}
        {unfinished ? (
          <span className="small muted">
            <Spinner label="Refreshing" /> live
          </span>
        ) : null}
      </div>

      {canEdit && chosen.length ? (
        <div className="toolbar bulk-bar" data-testid="bulk-retry-bar" role="region" aria-label="Selected runs">
          <strong>{chosen.length} failed {chosen.length === 1 ? 'run' : 'runs'} selected</strong>
          <select aria-label="Version to retry on" data-testid="bulk-retry-version" value={bulkVersion} onChange={(e) => setBulkVersion(e.target.value as 'original' | 'latest')} disabled={retrying}>
            <option value="original">on the version each ran with</option>
            <option value="latest">on each flow's latest version</option>
          </select>
          <button type="button" className="btn btn-primary" onClick={retrySelected} disabled={retrying} data-testid="bulk-retry">
            {retrying ? <Spinner /> : <Icon name="retry" />} Retry from the failed step
          </button>
          <button type="button" className="btn btn-ghost" onClick={() => setSelected(new Set())} disabled={retrying}>
            Clear selection
          </button>
        </div>
      ) : null}

      {loading && !items.length ? (
        <Loading what="Loading runs…" />
      ) : error && !items.length ? (
        <ErrorBox error={error} onRetry={() => setTick(0)} />
      ) : !shown.length ? (
        <Empty icon="list">{flowId || status || trigger || since ? 'No run matches these filters.' : 'No runs yet. Runs appear here when a flow is triggered or run by hand.'}</Empty>
      ) : (
        <>
          {error ? <ErrorBox error={error} /> : null}
          <div className="table-wrap">
            <table className="table" data-testid="runs-table">
              <thead>
                <tr>
                  {canEdit ? (
                    <th className="select-col">
                      <input
                        type="checkbox"
                        aria-label="Select all failed runs"
                        data-testid="select-all-failed"
                        checked={allChosen}
                        disabled={!failedShown.length}
                        onChange={(e) => setSelected(e.target.checked ? new Set(failedShown.map((r) => r.id)) : new Set())}
                      />
                    </th>
                  ) : null}
                  <th>Status</th>
                  <th>Flow</th>
                  <th>Trigger</th>
                  <th>Started</th>
                  <th>Duration</th>
                  <th>Run</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={r.id} className="clickable" data-testid="run-row" data-run-id={r.id} data-status={r.status} onClick={(e) => !(e.target as HTMLElement).closest('a,button,input,.select-col') && navigate(`/runs/${r.id}`)}>
                    {canEdit ? (
                      <td className="select-col">
                        {r.status === 'failed' ? (
                          <input type="checkbox" aria-label={`Select run ${r.id}`} data-testid="select-run" checked={selected.has(r.id)} onChange={(e) => toggle(r.id, e.target.checked)} />
                        ) : null}
                      </td>
                    ) : null}
                    <td data-label="Status">
                      <StatusBadge status={r.status} />
                    </td>
                    <td data-label="Flow">
                      <Link to={`/flows/${r.flow_id}`}>{flowName(r.flow_id, r)}</Link>
                      <div className="small muted">version {r.flow_version ?? '?'}</div>
                    </td>
                    <td data-label="Trigger" className="small">
                      {triggerTypeOf(r) || '—'}
                      {r.retry_of ? <div className="muted">retry</div> : null}
                    </td>
                    <td data-label="Started" className="small">
                      <div>{fmtDateTime(r.started_at ?? r.created_at)}</div>
                      <div className="muted">{fmtRelative(r.started_at ?? r.created_at)}</div>
                    </td>
                    <td data-label="Duration" className="small">
                      {TERMINAL.has(r.status) ? fmtDuration(r.duration_ms) : <span className="muted">{r.status}…</span>}
                    </td>
                    <td data-label="Run">
                      <Link to={`/runs/${r.id}`} className="mono small" aria-label={`Open run ${r.id}`}>
                        {r.id.slice(0, 10)}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {cursor ? (
              <div className="pager">
                <button type="button" className="btn" onClick={loadMore} disabled={more} data-testid="load-more-runs">
                  {more ? <Spinner /> : null} Load more
                </button>
              </div>
            ) : null}
          </div>
        </>
      )}
    </div>
  );
}
