// Watching a run: useLiveRun merges GET /runs/{id} with the Server-Sent
// Events of GET /runs/{id}/events (step_started, step_finished, log,
// run_finished) and falls back to polling when the stream is unavailable.
// StepTimeline shows a run's steps; RunDialog is the Run button's window.
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, deliveries, flows, runs, type Json, type LogLine, type Run, type StepRun, type TriggerType } from '../api';
import { durationBetween, fmtDateTime, fmtDuration } from '../lib/time';
import { JsonView } from './JsonView';
import { ErrorBox, Modal, Spinner, StatusBadge } from './ui';

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

export function triggerTypeOf(run: Run): string {
  if (run.trigger_type) return run.trigger_type;
  if (!run.trigger) return '';
  if (typeof run.trigger === 'string') return run.trigger;
  return String(run.trigger.type ?? '');
}

type Obj = Record<string, unknown>;

function mergeStep(list: StepRun[], patch: Obj): StepRun[] {
  const path = (patch.path ?? patch.step_path ?? patch.id ?? patch.step) as string | undefined;
  if (!path) return list;
  const i = list.findIndex((s) => s.path === path || (!s.path && s.id === path));
  const base: StepRun =
    i >= 0 ? list[i] : { id: String(patch.id ?? patch.step ?? path), path, uses: String(patch.uses ?? ''), status: 'pending' };
  const next: StepRun = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined && k !== 'type' && k !== 'step' && k !== 'step_path') (next as unknown as Obj)[k] = v;
  }
  if (typeof patch.step === 'string' && !next.id) next.id = patch.step;
  if (i >= 0) return list.map((s, j) => (j === i ? next : s));
  return [...list, next];
}

function parseEvent(e: MessageEvent): Obj {
  try {
    let d = JSON.parse(e.data) as Obj;
    if (d && typeof d.data === 'object' && d.data) d = { ...d, ...(d.data as Obj) };
    if (d && typeof d.step === 'object' && d.step) d = { ...d, ...(d.step as Obj) };
    return d ?? {};
  } catch {
    return { message: e.data };
  }
}

/** The run as it is now, kept current while it is not finished. */
export function useLiveRun(runId: string | null, initial?: Run | null) {
  const [run, setRun] = useState<Run | null>(initial ?? null);
  const [error, setError] = useState<unknown>(null);
  const [streaming, setStreaming] = useState(false);
  const [tick, setTick] = useState(0);
  const runRef = useRef<Run | null>(run);
  runRef.current = run;

  useEffect(() => {
    if (!runId) return;
    let closed = false;
    let es: EventSource | null = null;
    let poll: ReturnType<typeof setTimeout> | null = null;

    const fetchRun = async () => {
      try {
        const r = await runs.get(runId);
        if (closed) return r;
        setRun(r);
        setError(null);
        return r;
      } catch (e) {
        if (!closed) setError(e);
        return null;
      }
    };

    const startPolling = () => {
      const loop = async () => {
        const r = await fetchRun();
        if (closed) return;
        if (r && TERMINAL.has(r.status)) return;
        poll = setTimeout(loop, 1000);
      };
      void loop();
    };

    const start = async () => {
      const r = await fetchRun();
      if (closed || (r && TERMINAL.has(r.status))) return;
      if (typeof EventSource === 'undefined') return startPolling();
      es = new EventSource(runs.eventsUrl(runId), { withCredentials: true });
      setStreaming(true);
      const onStep = (e: MessageEvent) => {
        const d = parseEvent(e);
        setRun((cur) => (cur ? { ...cur, status: cur.status === 'queued' ? 'running' : cur.status, steps: mergeStep(cur.steps ?? [], d) } : cur));
      };
      es.addEventListener('step_started', (e) => onStep(e as MessageEvent));
      es.addEventListener('step_finished', (e) => onStep(e as MessageEvent));
      es.addEventListener('log', (e) => {
        const d = parseEvent(e as MessageEvent);
        const path = (d.path ?? d.step_path ?? d.step) as string | undefined;
        const line: LogLine = { at: d.at as string, level: d.level as string, message: String(d.message ?? '') };
        setRun((cur) => {
          if (!cur) return cur;
          if (!path) return cur;
          const steps = cur.steps ?? [];
          const s = steps.find((x) => x.path === path || x.id === path);
          return { ...cur, steps: mergeStep(steps, { path: s?.path ?? path, logs: [...(s?.logs ?? []), line] }) };
        });
      });
      es.addEventListener('run_finished', (e) => {
        const d = parseEvent(e as MessageEvent);
        setRun((cur) => (cur ? { ...cur, ...(d as Partial<Run>), steps: cur.steps } : cur));
        es?.close();
        setStreaming(false);
        void fetchRun();
      });
      es.onerror = () => {
        // The stream ended or is not available: read the run and poll until it finishes.
        if (closed) return;
        es?.close();
        setStreaming(false);
        if (!runRef.current || !TERMINAL.has(runRef.current.status)) startPolling();
      };
    };
    void start();
    return () => {
      closed = true;
      es?.close();
      if (poll) clearTimeout(poll);
      setStreaming(false);
    };
  }, [runId, tick]);

  return { run, setRun, error, streaming, reload: () => setTick((t) => t + 1) };
}

export function stepDuration(s: StepRun): number | null {
  if (typeof s.duration_ms === 'number') return s.duration_ms;
  return durationBetween(s.started_at, s.finished_at);
}

function StepDetails({ s }: { s: StepRun }) {
  return (
    <div className="step-details">
      <div className="step-meta small muted">
        <span>
          <code>{s.uses}</code>
        </span>
        {s.attempts && s.attempts > 1 ? <span>{s.attempts} attempts</span> : s.attempts ? <span>1 attempt</span> : null}
        {s.started_at ? <span>started {fmtDateTime(s.started_at)}</span> : null}
      </div>
      {s.error ? (
        <div className="step-error" role="alert">
          <strong>{s.error.code ?? 'error'}</strong> {s.error.message ?? JSON.stringify(s.error)}
        </div>
      ) : null}
      <div className="io-grid">
        <div>
          <h4>Input</h4>
          <JsonView value={s.input as Json} label={`Input of ${s.path}`} empty="no input recorded" />
        </div>
        <div>
          <h4>Output</h4>
          <JsonView value={s.output as Json} label={`Output of ${s.path}`} empty={s.status === 'running' ? 'running…' : 'no output'} />
        </div>
      </div>
      {s.logs?.length ? (
        <div>
          <h4>Logs</h4>
          <pre className="logs" data-testid="step-logs">
            {s.logs.map((l, i) => (
              <div key={i} className={`log-${l.level ?? 'info'}`}>
                {l.at ? <span className="muted">{fmtDateTime(l.at)} </span> : null}
                {l.level ? <span className="log-level">{l.level.toUpperCase()} </span> : null}
                {l.message}
              </div>
            ))}
          </pre>
        </div>
      ) : null}
    </div>
  );
}

/** The steps of a run in execution order, each expandable to input, output, error, logs. */
export function StepTimeline({ run }: { run: Run }) {
  const steps = run.steps ?? [];
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const t0 = run.started_at ? new Date(run.started_at).getTime() : null;
  const total = run.duration_ms ?? durationBetween(run.started_at, run.finished_at) ?? null;
  if (!steps.length) {
    return <div className="muted small">{TERMINAL.has(run.status) ? 'No steps ran.' : 'Waiting for the first step…'}</div>;
  }
  return (
    <ol className="timeline" aria-label="Steps" data-testid="step-timeline">
      {steps.map((s) => {
        const d = stepDuration(s);
        const isOpen = open[s.path] ?? s.status === 'failed';
        let bar = null;
        if (t0 && total && total > 0 && s.started_at) {
          const left = Math.max(0, ((new Date(s.started_at).getTime() - t0) / total) * 100);
          const width = Math.max(1, ((d ?? 0) / total) * 100);
          bar = <span className={`tl-bar status-bg-${s.status}`} style={{ left: `${Math.min(left, 99)}%`, width: `${Math.min(width, 100 - Math.min(left, 99))}%` }} />;
        }
        const depth = (s.path.match(/\./g) ?? []).length;
        return (
          <li key={s.path} className={`tl-step tl-${s.status}`} data-testid={`step-run-${s.path}`} data-status={s.status} style={{ marginLeft: depth * 16 }}>
            <button
              type="button"
              className="tl-head"
              aria-expanded={isOpen}
              onClick={() => setOpen((o) => ({ ...o, [s.path]: !isOpen }))}
            >
              <span className={`dot status-bg-${s.status}`} aria-hidden />
              <span className="tl-name">{s.path}</span>
              <span className="tl-uses muted small">{s.uses}</span>
              <span className="tl-track" aria-hidden>
                {bar}
              </span>
              <StatusBadge status={s.status} small />
              <span className="tl-dur small">{s.status === 'running' ? <Spinner label="running" /> : fmtDuration(d)}</span>
            </button>
            {isOpen ? <StepDetails s={s} /> : null}
          </li>
        );
      })}
    </ol>
  );
}

/** The run as a console: each step's start, its log lines and its end, in order. */
export function LiveLog({ run }: { run: Run }) {
  const ref = useRef<HTMLPreElement>(null);
  const lines: { key: string; cls: string; text: string }[] = [];
  for (const s of run.steps ?? []) {
    lines.push({ key: `${s.path}:start`, cls: 'muted', text: `▶ ${s.path} (${s.uses}) started` });
    (s.logs ?? []).forEach((l, i) =>
      lines.push({ key: `${s.path}:log:${i}`, cls: `log-${l.level ?? 'info'}`, text: `  ${l.level ? l.level.toUpperCase() + ' ' : ''}${l.message}` }),
    );
    if (TERMINAL.has(s.status)) {
      const d = stepDuration(s);
      const mark = s.status === 'succeeded' ? '✓' : s.status === 'failed' ? '✗' : '–';
      lines.push({
        key: `${s.path}:end`,
        cls: s.status === 'failed' ? 'log-error' : '',
        text: `${mark} ${s.path} ${s.status}${d !== null ? ` in ${fmtDuration(d)}` : ''}${s.error?.message ? `: ${s.error.message}` : ''}`,
      });
    }
  }
  if (TERMINAL.has(run.status)) lines.push({ key: 'run:end', cls: run.status === 'failed' ? 'log-error' : '', text: `■ run ${run.status}` });
  useEffect(() => {
    if (ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, [lines.length]);
  return (
    <pre className="logs live-log" ref={ref} data-testid="live-log" aria-live="polite" aria-label="Live log">
      {lines.length ? lines.map((l) => (
        <div key={l.key} className={l.cls}>
          {l.text}
        </div>
      )) : <div className="muted">waiting for the first step…</div>}
    </pre>
  );
}

// flow.call: the run that called this one ({run_id, flow_name, step}), if any.
export function callerOf(run: Run): { run_id: string; flow_name?: string; step?: string } | null {
  const t = run.trigger;
  if (!t || typeof t !== 'object') return null;
  const p = (t as Obj).parent;
  if (!p || typeof p !== 'object' || typeof (p as Obj).run_id !== 'string') return null;
  const o = p as Obj;
  return { run_id: o.run_id as string, flow_name: typeof o.flow_name === 'string' ? o.flow_name : undefined, step: typeof o.step === 'string' ? o.step : undefined };
}

export function RunSummary({ run }: { run: Run }) {
  const d = run.duration_ms ?? durationBetween(run.started_at, run.finished_at);
  const caller = callerOf(run);
  return (
    <div className="run-summary">
      <StatusBadge status={run.status} />
      <span className="small muted">
        {triggerTypeOf(run) || 'run'} · version {run.flow_version ?? '?'} ·{' '}
        {run.started_at ? `started ${fmtDateTime(run.started_at)}` : `queued ${fmtDateTime(run.created_at)}`}
        {TERMINAL.has(run.status) ? ` · took ${fmtDuration(d)}` : ''}
        {caller ? (
          <>
            {' · called by '}
            <Link to={`/runs/${caller.run_id}`} data-testid="caller-run">
              {caller.flow_name ?? caller.run_id}
              {caller.step ? ` (step ${caller.step})` : ''}
            </Link>
          </>
        ) : null}
      </span>
    </div>
  );
}

/**
 * The Run window: optional input JSON (for webhook flows, prefilled with the
 * last delivery, which the server replays when no input is sent), then the
 * run streaming live.
 */
export function RunDialog({
  flowId,
  flowName,
  triggerType,
  note,
  untilStep,
  onClose,
}: {
  flowId: string;
  flowName: string;
  triggerType?: TriggerType;
  /** Run to here: the run ends after this top-level step. */
  untilStep?: string;
  /** Shown above the input (e.g. "unsaved changes are not part of this run"). */
  note?: string;
  onClose: () => void;
}) {
  const [text, setText] = useState('');
  const [parseError, setParseError] = useState<string | null>(null);
  const [replay, setReplay] = useState(false);
  const [hasDelivery, setHasDelivery] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [started, setStarted] = useState<Run | null>(null);
  const live = useLiveRun(runId, started);

  useEffect(() => {
    if (triggerType !== 'webhook') return;
    const ctl = new AbortController();
    deliveries
      .list(flowId, ctl.signal)
      .then(async (r) => {
        const last = (r.deliveries ?? []).find((d) => d.auth_passed !== false);
        if (!last) return;
        const full = last.body !== undefined ? last : await deliveries.get(last.id);
        if (ctl.signal.aborted) return;
        setHasDelivery(true);
        setReplay(true);
        setText(typeof full.body === 'string' ? full.body : JSON.stringify(full.body ?? null, null, 2));
      })
      .catch(() => {
        /* no deliveries shown; the run can still take input */
      });
    return () => ctl.abort();
  }, [flowId, triggerType]);

  const start = async () => {
    let input: Json | undefined;
    if (!replay && text.trim()) {
      try {
        input = JSON.parse(text) as Json;
      } catch (e) {
        setParseError(`Not valid JSON: ${(e as Error).message}`);
        return;
      }
    }
    setBusy(true);
    setError(null);
    try {
      const r = await flows.run(flowId, replay ? undefined : input, untilStep);
      setStarted(r);
      setRunId(r.id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const run = live.run;
  return (
    <Modal title={untilStep ? `Run “${flowName}” to ${untilStep}` : `Run “${flowName}”`} onClose={onClose} wide testId="run-dialog">
      {untilStep ? (
        <div className="note section" data-testid="run-until">
          Runs up to step <code>{untilStep}</code>: the steps after it are not run.
        </div>
      ) : null}
      {!runId ? (
        <div className="run-input">
          {note ? <div className="note note-warn section">{note}</div> : null}
          {hasDelivery ? (
            <fieldset className="radio-row">
              <legend className="sr-only">Input</legend>
              <label>
                <input type="radio" name="run-input-mode" checked={replay} onChange={() => setReplay(true)} /> Replay the last
                delivery as received
              </label>
              <label>
                <input type="radio" name="run-input-mode" checked={!replay} onChange={() => setReplay(false)} /> Use this input
              </label>
            </fieldset>
          ) : null}
          <label className="field-label" htmlFor="run-input">
            Input (JSON, optional) — becomes <code>trigger.body</code>
          </label>
          <textarea
            id="run-input"
            className="code-input"
            rows={10}
            spellCheck={false}
            placeholder={'{\n  "example": true\n}'}
            value={text}
            readOnly={replay}
            aria-readonly={replay}
            onChange={(e) => {
              setText(e.target.value);
              setParseError(null);
            }}
          />
          {parseError ? (
            <div className="field-error" role="alert">
              {parseError}
            </div>
          ) : null}
          {error ? (
            <ErrorBox
              error={error}
              title={error instanceof ApiError && error.code === 'no_delivery' ? 'No delivery to replay yet' : 'The run did not start'}
            />
          ) : null}
          <div className="modal-actions">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="button" className="btn btn-primary" onClick={start} disabled={busy} data-testid="start-run">
              {busy ? <Spinner /> : null} Start run
            </button>
          </div>
        </div>
      ) : (
        <div className="run-live" data-testid="run-live">
          {run ? (
            <>
              <div className="run-live-head">
                <RunSummary run={run} />
                {live.streaming ? <span className="live-dot small">live</span> : null}
                <Link to={`/runs/${run.id}`} className="btn btn-small" onClick={onClose}>
                  Open in Process Log
                </Link>
              </div>
              {run.error ? (
                <div className="step-error" role="alert">
                  <strong>{run.error.code ?? 'failed'}</strong> {run.error.message}
                </div>
              ) : null}
              <StepTimeline run={run} />
              <h4>Live log</h4>
              <LiveLog run={run} />
              {TERMINAL.has(run.status) && run.output !== undefined ? (
                <div>
                  <h4>Run output</h4>
                  <JsonView value={run.output as Json} label="Run output" />
                </div>
              ) : null}
            </>
          ) : (
            <Spinner />
          )}
          {live.error ? <ErrorBox error={live.error} onRetry={live.reload} /> : null}
        </div>
      )}
    </Modal>
  );
}
