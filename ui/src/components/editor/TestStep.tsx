// "Test step" under the selected step's form: runs only this step of the
// draft on the server, its inputs resolved against the editor's sample (the
// flow's pinned sample, a past run or a webhook delivery), and shows the resolved input and the output
// or error inline. Nothing goes to the Process Log. A step with effects outside
// the run (anything but data.set / data.transform / log.write) asks once first.
import { useState } from 'react';
import { flows, type FlowDocument, type Step, type StepTestResult } from '../../api';
import { cleanDocument } from '../../lib/flow';
import { describeSample, testSample, type SampleSource } from '../../lib/sample';
import { fmtDuration } from '../../lib/time';
import { Icon } from '../icons';
import { JsonView } from '../JsonView';
import { ConfirmDialog, ErrorBox, Spinner } from '../ui';

export const PURE_ACTIONS = new Set(['data.set', 'data.transform', 'log.write']);

export function TestStep({
  flowId,
  doc,
  step,
  source,
  effectsConfirmed,
  onEffectsConfirmed,
}: {
  flowId: string | null;
  doc: FlowDocument;
  step: Step;
  /** The editor's sample (chosen in the data panel). */
  source: SampleSource;
  /** The user already agreed to test steps with side effects (asked once per editor). */
  effectsConfirmed: boolean;
  onEffectsConfirmed: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<StepTestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [asking, setAsking] = useState(false);
  const control = ['flow.if', 'flow.foreach', 'flow.delay', 'flow.call'].includes(step.uses);
  if (control) return null;

  const run = async () => {
    if (!flowId) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const body = cleanDocument(doc);
      setResult(await flows.testStep(flowId, step.id, body, testSample(source, doc)));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const start = () => {
    if (!PURE_ACTIONS.has(step.uses) && !effectsConfirmed) setAsking(true);
    else void run();
  };

  return (
    <section className="test-step" aria-label="Test step" data-testid="test-step">
      <div className="row gap-s">
        <button type="button" className="btn" onClick={start} disabled={!flowId || busy} title={flowId ? 'Run only this step against the sample' : 'Save the flow first'} data-testid="test-step-button">
          {busy ? <Spinner label="Testing" /> : <Icon name="play" size={14} />} Test step
        </button>
        <span className="small muted" data-testid="test-step-sample">
          with {describeSample(source)}
        </span>
      </div>
      {!flowId ? <p className="small muted">Save the flow once to test its steps.</p> : null}
      {error ? <ErrorBox error={error} title="Could not test the step" /> : null}
      {result ? (
        <div className={`test-result ${result.status}`} data-testid="test-step-result" data-status={result.status} aria-live="polite">
          <div className="small">
            <strong>{result.status === 'succeeded' ? 'Succeeded' : 'Failed'}</strong> · {fmtDuration(result.duration_ms)} · no run recorded
          </div>
          {result.error ? (
            <div className="field-error" data-testid="test-step-error">
              {result.error.message}
            </div>
          ) : null}
          <details>
            <summary className="small">Input</summary>
            <JsonView value={result.input ?? null} label="Input" />
          </details>
          {result.status === 'succeeded' ? (
            <div data-testid="test-step-output">
              <div className="small muted">Output</div>
              <JsonView value={result.output ?? null} label="Output" />
            </div>
          ) : null}
        </div>
      ) : null}
      {asking ? (
        <ConfirmDialog
          title="Test a step with side effects"
          message={
            <p>
              <code>{step.uses}</code> acts outside weft (it may send a request or a message, or write a file). Testing it does that for real, once. Test steps
              like this without asking again?
            </p>
          }
          confirmLabel="Test it"
          danger={false}
          onConfirm={() => {
            onEffectsConfirmed();
            setAsking(false);
            void run();
          }}
          onClose={() => setAsking(false)}
        />
      ) : null}
    </section>
  );
}

/** The flow's pinned sample as JSON text, checked as typed; applied when valid. */
export function SampleEditor({ doc, onChange }: { doc: FlowDocument; onChange: (d: FlowDocument) => void }) {
  const [text, setText] = useState(() => (doc.sample ? JSON.stringify(doc.sample, null, 2) : ''));
  const [problem, setProblem] = useState<string | null>(null);
  const apply = (t: string) => {
    setText(t);
    if (!t.trim()) {
      setProblem(null);
      const { sample: _drop, ...rest } = doc;
      void _drop;
      onChange(rest);
      return;
    }
    try {
      const v = JSON.parse(t);
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('must be an object {"trigger": {...}, "steps": {...}}');
      setProblem(null);
      onChange({ ...doc, sample: v });
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div>
      <textarea
        id="flow-sample"
        className="mono"
        rows={6}
        spellCheck={false}
        value={text}
        placeholder={'{"trigger": {"body": {...}}, "steps": {"<id>": {"output": ...}}}'}
        aria-invalid={!!problem}
        onChange={(e) => apply(e.target.value)}
      />
      {problem ? <div className="field-error">Not saved into the flow: {problem}</div> : null}
    </div>
  );
}
