// Webhooks: the deliveries received on a webhook flow's URL (GET
// /deliveries?flow_id=), with time, method, status answered and run link,
// and the raw headers, query and payload of the selected one; "Run again
// with this payload" (POST /deliveries/{id}/replay) starts a run with it;
// "Use as sample" opens the flow editor with the delivery as its sample data.
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { deliveries, errorMessage, flows, type Delivery, type Json } from '../api';
import { useCanEdit } from '../components/Auth';
import { useToast } from '../components/Toast';
import { Icon } from '../components/icons';
import { JsonView } from '../components/JsonView';
import { Empty, ErrorBox, Loading, Spinner } from '../components/ui';
import { WebhookUrlBox } from '../components/editor/TriggerForm';
import { useAsync, useDocumentTitle } from '../lib/hooks';
import { fmtDateTime, fmtRelative, userZone } from '../lib/time';

function statusClass(code?: number): string {
  if (!code) return '';
  if (code < 300) return 'status-succeeded';
  if (code < 400) return 'status-queued';
  if (code === 409) return 'status-cancelled';
  return 'status-failed';
}

function DeliveryDetail({ id }: { id: string }) {
  const d = useAsync(() => deliveries.get(id), [id]);
  const canEdit = useCanEdit();
  const toast = useToast();
  const navigate = useNavigate();
  const [replaying, setReplaying] = useState(false);
  if (d.loading && !d.data) return <Loading />;
  if (d.error) return <ErrorBox error={d.error} onRetry={d.reload} />;
  const x = d.data!;
  const headers = Object.entries(x.headers ?? {});
  const code = x.status_code ?? x.status;
  // A request that failed auth or was refused before its body was read has nothing to run.
  const replayable = x.auth_passed !== false && code !== 405 && code !== 413;
  const replay = async () => {
    setReplaying(true);
    try {
      const run = await deliveries.replay(x.id);
      toast('Run started with this payload', 'success');
      navigate(`/runs/${run.id}`);
    } catch (e) {
      toast(`Could not run again: ${errorMessage(e)}`, 'error');
    } finally {
      setReplaying(false);
    }
  };
  return (
    <div data-testid="delivery-detail">
      <h2 className="row gap-s">
        <span className="mono">{x.method}</span> <span className="mono small muted">{x.path || '/'}</span>
        <span className={`badge ${statusClass(x.status_code ?? x.status)}`}>{x.status_code ?? x.status}</span>
      </h2>
      <p className="small muted">
        Received {fmtDateTime(x.received_at ?? x.created_at)}
        {x.content_type ? ` · ${x.content_type}` : ''}
        {x.size !== undefined ? ` · ${x.size} bytes` : ''}
        {x.auth_passed === false ? ' · authentication failed' : ''}
      </p>
      <p className="row gap-s">
        {x.run_id ? (
          <Link to={`/runs/${x.run_id}`}>
            <Icon name="external" size={13} /> Open the run
          </Link>
        ) : null}
        {canEdit ? (
          <button
            type="button"
            className="btn"
            onClick={replay}
            disabled={replaying || !replayable}
            data-testid="replay-delivery"
            title={replayable ? "A new run of the flow's latest version with this request as its trigger (even when the flow is inactive)" : 'This request failed authentication or was refused before its payload was read'}
          >
            {replaying ? <Spinner /> : <Icon name="retry" />} Run again with this payload
          </button>
        ) : null}
        {x.flow_id && replayable ? (
          <Link className="btn" to={`/flows/${encodeURIComponent(x.flow_id)}?sample_delivery=${encodeURIComponent(x.id)}`} data-testid="use-as-sample">
            <Icon name="braces" size={14} /> Use as sample
          </Link>
        ) : null}
      </p>
      <h4>Headers</h4>
      {headers.length ? (
        <table className="headers-table" aria-label="Headers">
          <tbody>
            {headers.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td className="mono">{Array.isArray(v) ? v.join(', ') : String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted small">none</p>
      )}
      {x.query && Object.keys(x.query).length ? (
        <>
          <h4>Query</h4>
          <JsonView value={x.query as Json} label="Query" />
        </>
      ) : null}
      <h4>Payload</h4>
      <JsonView value={(x.body ?? null) as Json} label="Payload" />
    </div>
  );
}

export function WebhooksPage() {
  useDocumentTitle('Webhooks');
  const [params, setParams] = useSearchParams();
  const flowList = useAsync((s) => flows.list(s), []);
  const hookFlows = useMemo(() => (flowList.data ?? []).filter((f) => f.trigger_type === 'webhook').sort((a, b) => a.name.localeCompare(b.name)), [flowList.data]);
  const flowId = params.get('flow_id') ?? hookFlows[0]?.id ?? '';
  const flow = hookFlows.find((f) => f.id === flowId);
  const [selected, setSelected] = useState<string | null>(null);
  const [items, setItems] = useState<Delivery[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!flowId) return;
    const ctl = new AbortController();
    setLoading(true);
    deliveries
      .list(flowId, ctl.signal)
      .then((r) => {
        setItems(r.deliveries ?? []);
        setCursor(r.next_cursor ?? null);
        setError(null);
        setSelected((s) => s ?? r.deliveries?.[0]?.id ?? null);
      })
      .catch((e) => !ctl.signal.aborted && setError(e))
      .finally(() => !ctl.signal.aborted && setLoading(false));
    return () => ctl.abort();
  }, [flowId, tick]);

  // New deliveries show up without a click.
  useEffect(() => {
    if (!flowId) return;
    const t = setInterval(() => document.visibilityState === 'visible' && setTick((x) => x + 1), 5000);
    return () => clearInterval(t);
  }, [flowId]);

  const loadMore = async () => {
    if (!cursor) return;
    try {
      const r = await deliveries.list(flowId, undefined, cursor);
      setItems((p) => [...p, ...(r.deliveries ?? [])]);
      setCursor(r.next_cursor ?? null);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Webhooks</h1>
          <p className="muted small sub">Requests received on each webhook flow’s URL, kept with their payload. Times in {userZone}.</p>
        </div>
        <div className="row gap-s">
          <label className="inline-label">
            Flow
            <select
              aria-label="Webhook flow"
              value={flowId}
              onChange={(e) => {
                setSelected(null);
                setParams({ flow_id: e.target.value }, { replace: true });
              }}
            >
              {hookFlows.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                  {f.active ? '' : ' (inactive)'}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="btn" onClick={() => setTick((t) => t + 1)} disabled={!flowId}>
            <Icon name="retry" /> Refresh
          </button>
        </div>
      </div>
      {flowList.loading && !flowList.data ? (
        <Loading />
      ) : flowList.error ? (
        <ErrorBox error={flowList.error} onRetry={flowList.reload} />
      ) : !hookFlows.length ? (
        <Empty icon="webhook">
          <p>No webhook flows yet. Create a flow with the Webhook trigger and save it to get its URL.</p>
          <Link to="/flows/new" className="btn btn-primary">
            New flow
          </Link>
        </Empty>
      ) : (
        <>
          {flow ? (
            <div className="panel section">
              <div className="row gap-s wrap">
                <strong>
                  <Link to={`/flows/${flow.id}`}>{flow.name}</Link>
                </strong>
                <span className={`badge ${flow.active ? 'status-succeeded' : ''}`}>{flow.active ? 'active' : 'inactive'}</span>
              </div>
              <div style={{ marginTop: 8 }}>
                <WebhookUrlBox url={flow.webhook_url} />
              </div>
            </div>
          ) : null}
          {loading && !items.length ? (
            <Loading what="Loading deliveries…" />
          ) : error ? (
            <ErrorBox error={error} onRetry={() => setTick((t) => t + 1)} />
          ) : !items.length ? (
            <Empty icon="webhook">Nothing received yet on this URL.</Empty>
          ) : (
            <div className="split">
              <div className="table-wrap">
                <table className="table" data-testid="deliveries-table">
                  <thead>
                    <tr>
                      <th>Time</th>
                      <th>Method</th>
                      <th>Status</th>
                      <th>Run</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((d) => {
                      const code = d.status_code ?? d.status;
                      return (
                        <tr key={d.id} className={`clickable${selected === d.id ? ' selected' : ''}`} onClick={() => setSelected(d.id)} data-testid="delivery-row" aria-selected={selected === d.id}>
                          <td data-label="Time" className="small">
                            <button type="button" className="link-btn" onClick={() => setSelected(d.id)}>
                              {fmtDateTime(d.received_at ?? d.created_at)}
                            </button>
                            <div className="muted">{fmtRelative(d.received_at ?? d.created_at)}</div>
                          </td>
                          <td data-label="Method" className="mono">
                            {d.method}
                            {d.path && d.path !== '/' ? <div className="small muted">{d.path}</div> : null}
                          </td>
                          <td data-label="Status">
                            <span className={`badge ${statusClass(code)}`}>{code}</span>
                          </td>
                          <td data-label="Run">
                            {d.run_id ? (
                              <Link to={`/runs/${d.run_id}`} className="mono small">
                                {d.run_id.slice(0, 10)}
                              </Link>
                            ) : (
                              <span className="muted small">—</span>
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
                {cursor ? (
                  <div className="pager">
                    <button type="button" className="btn" onClick={loadMore}>
                      Load more
                    </button>
                  </div>
                ) : null}
              </div>
              <div className="panel">{selected ? <DeliveryDetail id={selected} /> : <p className="muted">Select a delivery.</p>}</div>
            </div>
          )}
        </>
      )}
    </div>
  );
}
