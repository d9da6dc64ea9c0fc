// The side form of a selected step, generated from the catalog's action
// inputs: id, name, connection (filtered by connector), inputs (expressions
// allowed), `if`, and the advanced retry/timeout/on_error settings.
import { useState } from 'react';
import type { Connection, Json, JsonObject, Step } from '../../api';
import { ConnectionForm } from '../../pages/ConnectionsPage';
import { needsConnection, type Catalog } from '../../lib/catalog';
import { connectorOf } from '../../lib/flow';
import { FieldInput } from '../FieldInput';
import { ConnectorIcon, Icon } from '../icons';
import { Field } from '../ui';
import { ExprInput, type ExprContext } from './ExprInput';

export interface StepProblem {
  /** Path inside the step: `with.url`, `connection`, `` for the step itself. */
  rest: string;
  message: string;
}

const ID_RE = /^[a-z][a-z0-9_]*$/;

export function StepForm({
  step,
  onChange,
  onRename,
  catalog,
  connections,
  ctx,
  errors,
  warnings,
  takenIds,
  onConnectionCreated,
}: {
  step: Step;
  onChange: (s: Step) => void;
  onRename: (newId: string) => void;
  catalog: Catalog;
  connections: Connection[];
  ctx: ExprContext;
  errors: StepProblem[];
  warnings: StepProblem[];
  takenIds: Set<string>;
  /** A connection made with "New" (in a dialog, the flow stays unsaved): the caller adds it to its list. */
  onConnectionCreated?: (c: Connection) => void;
}) {
  const [newConnection, setNewConnection] = useState(false);
  const { connector, action } = catalog.action(step.uses);
  const connName = connectorOf(step.uses);
  const usable = connections.filter((c) => c.connector === connName);
  const withObj: JsonObject = step.with ?? {};
  const idPrefix = `step-${step.id}`;
  const errAt = (rest: string) => errors.find((e) => e.rest === rest || e.rest.startsWith(rest + '.') || e.rest.startsWith(rest + '['))?.message ?? null;
  const warnAt = (rest: string) => warnings.find((e) => e.rest === rest)?.message ?? null;
  const known = new Set(['id', 'name', 'connection', 'if', 'timeout', 'on_error', 'retry', ...(action?.inputs ?? []).map((i) => `with.${i.name}`)]);
  const general = errors.filter((e) => ![...known].some((k) => e.rest === k || e.rest.startsWith(k + '.') || e.rest.startsWith(k + '[')));
  const idError = !ID_RE.test(step.id)
    ? 'Use lower-case letters, digits and _; start with a letter.'
    : null;

  const setWith = (name: string, v: Json | undefined) => {
    const w = { ...withObj };
    if (v === undefined) delete w[name];
    else w[name] = v;
    onChange({ ...step, with: w });
  };

  return (
    <div className="step-form" data-testid="step-form" data-step-id={step.id}>
      <div className="form-head">
        <ConnectorIcon icon={connector?.icon} name={connName} size={22} />
        <div>
          <h2>{action?.title ?? step.uses}</h2>
          <code className="small muted">{step.uses}</code>
        </div>
      </div>
      {action?.description ? <p className="muted small">{action.description}</p> : null}
      {!action && !catalog.loading ? (
        <div className="note note-warn">
          <Icon name="alert" /> <span>The catalog has no action <code>{step.uses}</code>.</span>
        </div>
      ) : null}

      {general.length ? (
        <div className="problems problems-error" role="alert" data-testid="step-errors">
          {general.map((e, i) => (
            <div key={i}>
              {e.rest ? <code>{e.rest}</code> : null} {e.message}
            </div>
          ))}
        </div>
      ) : null}
      {warnings.length ? (
        <div className="problems problems-warn" data-testid="step-warnings">
          {warnings.map((w, i) => (
            <div key={i}>
              <Icon name="alert" size={14} /> {w.message}
            </div>
          ))}
        </div>
      ) : null}

      <div className="grid-2">
        <Field label="Step id" htmlFor={`${idPrefix}-id`} error={errAt('id') ?? idError} help="Used in expressions: steps.<id>.output">
          <StepIdInput id={`${idPrefix}-id`} value={step.id} taken={takenIds} onCommit={onRename} />
        </Field>
        <Field label="Display name" htmlFor={`${idPrefix}-name`} error={errAt('name')}>
          <input id={`${idPrefix}-name`} value={step.name ?? ''} placeholder="Optional" onChange={(e) => onChange({ ...step, name: e.target.value || undefined })} />
        </Field>
      </div>

      {needsConnection(connector) ? (
        <Field label="Connection" htmlFor={`${idPrefix}-connection`} error={errAt('connection')} required={!action?.connection_optional}>
          <div className="row gap-s">
            <select
              id={`${idPrefix}-connection`}
              className="grow"
              value={step.connection ?? ''}
              aria-invalid={!!errAt('connection') || !!warnAt('connection')}
              onChange={(e) => onChange({ ...step, connection: e.target.value || undefined })}
            >
              <option value="">{action?.connection_optional ? 'None (an absolute URL)' : `Choose a ${connector?.title ?? connName} connection…`}</option>
              {usable.map((c) => (
                <option key={c.id} value={c.name}>
                  {c.name}
                  {c.active ? '' : ' (inactive)'}
                </option>
              ))}
              {step.connection && !usable.some((c) => c.name === step.connection) ? <option value={step.connection}>{step.connection} (not found)</option> : null}
            </select>
            <button type="button" className="btn btn-small" onClick={() => setNewConnection(true)} data-testid="step-new-connection">
              New
            </button>
          </div>
          {warnAt('connection') ? <div className="field-warn">{warnAt('connection')}</div> : null}
          {newConnection ? (
            <ConnectionForm
              connectors={catalog.connectors}
              existing={null}
              initialConnector={connName}
              onClose={() => setNewConnection(false)}
              onSaved={(c) => {
                setNewConnection(false);
                onConnectionCreated?.(c);
                onChange({ ...step, connection: c.name });
              }}
            />
          ) : null}
        </Field>
      ) : null}

      {action?.inputs?.length ? (
        <fieldset className="inputs">
          <legend>Inputs</legend>
          {action.inputs.map((f) => (
            <FieldInput
              key={f.name}
              field={f}
              idPrefix={idPrefix}
              value={withObj[f.name]}
              onChange={(v) => setWith(f.name, v)}
              ctx={ctx}
              expressions
              error={errAt(`with.${f.name}`)}
            />
          ))}
        </fieldset>
      ) : !action ? (
        <FieldInput
          field={{ name: 'with', title: 'Inputs (with)', type: 'object', help: 'The step’s inputs as JSON' }}
          idPrefix={idPrefix}
          value={withObj}
          onChange={(v) => onChange({ ...step, with: (v as JsonObject) ?? {} })}
          expressions
          error={errAt('with')}
        />
      ) : null}

      <Field label="Run only if" htmlFor={`${idPrefix}-if`} error={errAt('if')} help="Optional {{ expression }}; when false the step is skipped">
        <ExprInput id={`${idPrefix}-if`} value={step.if ?? ''} ctx={ctx} placeholder="{{ trigger.body.amount > 100 }}" onChange={(v) => onChange({ ...step, if: v || undefined })} />
      </Field>

      <details className="more" open={!!(errAt('retry') || errAt('timeout') || errAt('on_error'))}>
        <summary>Retries, timeout and errors</summary>
        <div className="grid-2">
          <Field label="Attempts" htmlFor={`${idPrefix}-attempts`} error={errAt('retry.attempts')} help="Counting the first try">
            <input
              id={`${idPrefix}-attempts`}
              type="number"
              min={1}
              max={100}
              value={step.retry?.attempts ?? 1}
              onChange={(e) => onChange({ ...step, retry: { ...step.retry, attempts: Number(e.target.value) || 1 } })}
            />
          </Field>
          <Field label="Backoff" htmlFor={`${idPrefix}-backoff`} error={errAt('retry.backoff')}>
            <select id={`${idPrefix}-backoff`} value={step.retry?.backoff ?? 'fixed'} onChange={(e) => onChange({ ...step, retry: { ...step.retry, backoff: e.target.value as 'fixed' } })}>
              <option value="fixed">Fixed</option>
              <option value="exponential">Exponential</option>
            </select>
          </Field>
          <Field label="Delay" htmlFor={`${idPrefix}-delay`} error={errAt('retry.delay')}>
            <input id={`${idPrefix}-delay`} placeholder="1s" value={step.retry?.delay ?? ''} onChange={(e) => onChange({ ...step, retry: { ...step.retry, delay: e.target.value || undefined } })} />
          </Field>
          <Field label="Max delay" htmlFor={`${idPrefix}-maxdelay`} error={errAt('retry.max_delay')}>
            <input id={`${idPrefix}-maxdelay`} placeholder="1m" value={step.retry?.max_delay ?? ''} onChange={(e) => onChange({ ...step, retry: { ...step.retry, max_delay: e.target.value || undefined } })} />
          </Field>
          <Field label="Timeout per attempt" htmlFor={`${idPrefix}-timeout`} error={errAt('timeout')}>
            <input id={`${idPrefix}-timeout`} placeholder="30s" value={step.timeout ?? ''} onChange={(e) => onChange({ ...step, timeout: e.target.value || undefined })} />
          </Field>
          <Field label="When it fails" htmlFor={`${idPrefix}-onerror`} error={errAt('on_error')}>
            <select id={`${idPrefix}-onerror`} value={step.on_error ?? 'fail'} onChange={(e) => onChange({ ...step, on_error: e.target.value as 'fail' })}>
              <option value="fail">Stop the run</option>
              <option value="continue">Continue with the next step</option>
            </select>
          </Field>
        </div>
      </details>
      {action?.output ? (
        <p className="small muted">
          <strong>Output:</strong> {typeof action.output === 'string' ? action.output : JSON.stringify(action.output)}
        </p>
      ) : null}
    </div>
  );
}

function StepIdInput({ id, value, taken, onCommit }: { id: string; value: string; taken: Set<string>; onCommit: (v: string) => void }) {
  return (
    <input
      id={id}
      className="mono"
      defaultValue={value}
      key={value}
      spellCheck={false}
      onBlur={(e) => {
        const v = e.target.value.trim();
        if (v === value) return;
        if (!ID_RE.test(v) || taken.has(v)) {
          e.target.value = value;
          return;
        }
        onCommit(v);
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
      }}
    />
  );
}
