// One run: facts, error, the step timeline with each step's input, output,
// error, attempts and logs, the trigger data; Retry (failed runs) and
// Cancel (unfinished runs). Follows the run live while it is unfinished.
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { errorMessage, flows, runs, type Json, type RetryOptions } from '../api';
import { useCanEdit } from '../components/Auth';
import { Icon } from '../components/icons';
import { JsonView } from '../components/JsonView';
import { LiveLog, StepTimeline, TERMINAL, callerOf, triggerTypeOf, useLiveRun } from '../components/RunView';
import { useToast } from '../components/Toast';
import { ErrorBox, Loading, Spinner, StatusBadge } from '../components/ui';
import { useDocumentTitle } from '../lib/hooks';
import { durationBetween, fmtDateTime, fmtDuration, userZone } from '../lib/time';

export function RunPage() {
  const { id } = useParams<{ id: string }>();
  const navigate = useNavigate();
  const toast = useToast();
  const canEdit = useCanEdit();
  const live = useLiveRun(id ?? null);
  const [busy, setBusy] = useState<'retry' | 'cancel' | null>(null);
  const [retryVersion, setRetryVersion] = useState<'original' | 'latest'>('original');
  const [latestVersion, setLatestVersion] = useState<number | null>(null);
  const run = live.run;
  const failedFlowId = run?.status === 'failed' ? run.flow_id : null;
  // The flow's latest version, for the retry's version choice.
  useEffect(() => {
    if (!failedFlowId) return;
    const ctl = new AbortController();
    flows
      .get(failedFlowId, ctl.signal)
      .then((f) => setLatestVersion(f.version))
      .catch(() => setLatestVersion(null));
    return () => ctl.abort();
  }, [failedFlowId]);
  useDocumentTitle(run ? `Run of ${run.flow_name ?? 'flow'}` : 'Run');

  if (!run && live.error) {
    return (
      <div className="page">
        <ErrorBox error={live.error} onRetry={live.reload} />
        <Link to="/runs">Back to the Process Log</Link>
      </div>
    );
  }
  if (!run) return <Loading what="Loading the run…" />;

  const retry = async (opts: RetryOptions) => {
    setBusy('retry');
    try {
      const r = await runs.retry(run.id, opts);
      toast('Retry started', 'success');
      navigate(`/runs/${r.id}`);
    } catch (e) {
      toast(`Retry failed: ${errorMessage(e)}`, 'error');
    } finally {
      setBusy(null);
    }
  };
  const cancel = async () => {
    setBusy('cancel');
    try {
      const r = await runs.cancel(run.id);
      if (r && r.id) live.setRun((cur) => (cur ? { ...cur, ...r, steps: r.steps ?? cur.steps } : r));
      toast('Cancel requested', 'info');
      live.reload();
    } catch (e) {
      toast(`Cancel failed: ${errorMessage(e)}`, 'error');
    } finally {
      setBusy(null);
    }
  };

  const finished = TERMINAL.has(run.status);
  const dur = run.duration_ms ?? durationBetween(run.started_at, run.finished_at);
  const trig = triggerTypeOf(run);
  const caller = callerOf(run);

  return (
    <div className="page" data-testid="run-page" data-status={run.status}>
      <div className="run-head">
        <div>
          <div className="small muted">
            <Link to="/runs">Process Log</Link> ›
          </div>
          <h1 className="row gap-s">
            <Link to={`/flows/${run.flow_id}`}>{run.flow_name ?? run.flow_id}</Link>
            <StatusBadge status={run.status} />
            {live.streaming ? <span className="live-dot small muted">live</span> : null}
          </h1>
          <div className="small muted mono">{run.id}</div>
        </div>
        <div className="row gap-s">
          {!finished && canEdit ? (
            <button type="button" className="btn" onClick={cancel} disabled={busy !== null || run.cancel_requested} data-testid="cancel-run">
              {busy === 'cancel' ? <Spinner /> : <Icon name="stop" />} {run.cancel_requested ? 'Cancelling…' : 'Cancel'}
            </button>
          ) : null}
          {run.status === 'failed' && canEdit ? (
            <div className="row gap-s retry-group" data-testid="retry-group">
              <select
                aria-label="Version to retry on"
                data-testid="retry-version"
                value={retryVersion}
                onChange={(e) => setRetryVersion(e.target.value as 'original' | 'latest')}
                disabled={busy !== null}
              >
                <option value="original">on v{run.flow_version ?? "?"} (the version it ran with)</option>
                <option value="latest" disabled={latestVersion === null}>
                  on the latest version{latestVersion !== null ? ` (v${latestVersion})` : ''}
                </option>
              </select>
              <button
                type="button"
                className="btn btn-primary"
                onClick={() => retry({ from: 'failed_step', version: retryVersion })}
                disabled={busy !== null}
                data-testid="retry-run"
                title="A new run that reuses the outputs of the steps that succeeded and starts at the failed step"
              >
                {busy === 'retry' ? <Spinner /> : <Icon name="retry" />} Retry from the failed step
              </button>
              <button
                type="button"
                className="btn"
                onClick={() => retry({ from: 'start', version: retryVersion })}
                disabled={busy !== null}
                data-testid="retry-run-start"
                title="A new run that runs every step again"
              >
                From the start
              </button>
            </div>
          ) : null}
          <button type="button" className="btn btn-ghost" onClick={live.reload}>
            Refresh
          </button>
        </div>
      </div>

      <dl className="facts">
        <div>
          <dt>Trigger</dt>
          <dd>{trig || '—'}</dd>
        </div>
        {caller ? (
          <div>
            <dt>Called by</dt>
            <dd>
              <Link to={`/runs/${caller.run_id}`} data-testid="caller-run">
                {caller.flow_name ?? caller.run_id}
              </Link>
              {caller.step ? <span className="muted"> · step {caller.step}</span> : null}
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Flow version</dt>
          <dd>{run.flow_version ?? '—'}</dd>
        </div>
        {run.scheduled_for ? (
          <div>
            <dt>Scheduled for</dt>
            <dd>{fmtDateTime(run.scheduled_for)}</dd>
          </div>
        ) : null}
        <div>
          <dt>Queued</dt>
          <dd>{fmtDateTime(run.created_at)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{fmtDateTime(run.started_at)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{finished ? fmtDateTime(run.finished_at) : '—'}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{finished ? fmtDuration(dur) : 'running…'}</dd>
        </div>
        {run.retry_of ? (
          <div>
            <dt>Retry of</dt>
            <dd>
              <Link to={`/runs/${run.retry_of}`} className="mono small">
                {run.retry_of}
              </Link>
            </dd>
          </div>
        ) : null}
      </dl>
      <p className="small muted">Times in {userZone}.</p>

      {run.error ? (
        <div className="step-error section" role="alert" data-testid="run-error">
          <strong>{run.error.code ?? 'Failed'}</strong>
          {run.error.step ? (
            <>
              {' '}
              at <code>{run.error.step}</code>
            </>
          ) : null}
          : {run.error.message ?? JSON.stringify(run.error)}
        </div>
      ) : null}
      {live.error ? <ErrorBox error={live.error} onRetry={live.reload} /> : null}

      <section className="section">
        <h2>Steps</h2>
        <StepTimeline run={run} />
      </section>
      <section className="section">
        <h2>Log</h2>
        <LiveLog run={run} />
      </section>

      <section className="section io-grid">
        <div>
          <h2>Trigger data</h2>
          <JsonView value={(typeof run.trigger === 'object' ? run.trigger : (run.input ?? null)) as Json} label="Trigger data" />
        </div>
        <div>
          <h2>Output</h2>
          <JsonView value={run.output as Json} label="Run output" empty={finished ? 'no output' : 'not finished'} />
        </div>
      </section>
    </div>
  );
}
