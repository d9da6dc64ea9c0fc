// The steps as a vertical list of cards, nested for containers (flow.if
// then/else, flow.foreach do). "+" between cards adds a step; cards are
// dragged by their handle onto a "+" slot to move, or moved with the
// Move up / Move down buttons from the keyboard.
import { createContext, useContext, useState, type DragEvent } from 'react';
import type { Step } from '../../api';
import type { Catalog } from '../../lib/catalog';
import { branchesOf, isWithin } from '../../lib/flow';
import { ConnectorIcon, Icon } from '../icons';

export interface StepIssues {
  errors: number;
  warnings: number;
}

export interface StepListApi {
  catalog: Catalog;
  selectedId: string | null;
  select: (id: string) => void;
  insertAt: (listPath: string, index: number) => void;
  move: (fromPath: string, toListPath: string, toIndex: number) => void;
  moveBy: (path: string, delta: -1 | 1) => void;
  remove: (path: string) => void;
  issues: (id: string) => StepIssues | undefined;
  readOnly?: boolean;
}

const Ctx = createContext<StepListApi | null>(null);
const DragCtx = createContext<{ dragging: string | null; setDragging: (p: string | null) => void }>({ dragging: null, setDragging: () => {} });

const BRANCH_LABEL: Record<string, string> = { then: 'Then', else: 'Else', do: 'For each item' };

function summary(step: Step): string {
  const w = step.with ?? {};
  if (step.uses === 'flow.if') return String(w.condition ?? '');
  if (step.uses === 'flow.foreach') return String(w.items ?? w.list ?? '');
  for (const k of ['url', 'query', 'sql', 'subject', 'to', 'path', 'key', 'value', 'expression']) {
    if (w[k] !== undefined) return `${k}: ${typeof w[k] === 'string' ? w[k] : JSON.stringify(w[k])}`;
  }
  const first = Object.entries(w)[0];
  return first ? `${first[0]}: ${typeof first[1] === 'string' ? first[1] : JSON.stringify(first[1])}` : '';
}

function InsertSlot({ listPath, index, label }: { listPath: string; index: number; label: string }) {
  const api = useContext(Ctx)!;
  const { dragging, setDragging } = useContext(DragCtx);
  const [over, setOver] = useState(false);
  const droppable = dragging !== null && !isWithin(listPath, dragging);
  if (api.readOnly) return <div className="slot-spacer" />;
  return (
    <div
      className={`slot${droppable ? ' slot-drop' : ''}${over && droppable ? ' slot-over' : ''}`}
      onDragOver={(e: DragEvent) => {
        if (!droppable) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e: DragEvent) => {
        e.preventDefault();
        setOver(false);
        const from = e.dataTransfer.getData('text/x-weft-step') || dragging;
        setDragging(null);
        if (from) api.move(from, listPath, index);
      }}
    >
      <span className="slot-line" aria-hidden />
      <button
        type="button"
        className="slot-add"
        aria-label={label}
        title={label}
        data-testid="add-step"
        data-list={listPath}
        data-index={index}
        onClick={() => api.insertAt(listPath, index)}
      >
        <Icon name="plus" size={14} />
      </button>
      <span className="slot-line" aria-hidden />
    </div>
  );
}

function StepCard({ step, path, index, count }: { step: Step; path: string; index: number; count: number }) {
  const api = useContext(Ctx)!;
  const { setDragging } = useContext(DragCtx);
  const { connector, action } = api.catalog.action(step.uses);
  const issues = api.issues(step.id);
  const selected = api.selectedId === step.id;
  const branches = branchesOf(step);
  const sum = summary(step);
  const connName = connector?.name ?? step.uses.split('.')[0];
  return (
    <div className={`step-block${branches.length ? ' step-container' : ''}`}>
      <div
        className={`card step-card${selected ? ' selected' : ''}${issues?.errors ? ' has-error' : issues?.warnings ? ' has-warning' : ''}`}
        data-testid="step-card"
        data-step-id={step.id}
        data-step-path={path}
        draggable={!api.readOnly}
        onDragStart={(e) => {
          e.dataTransfer.setData('text/x-weft-step', path);
          e.dataTransfer.effectAllowed = 'move';
          setDragging(path);
        }}
        onDragEnd={() => setDragging(null)}
      >
        <span className="drag-handle" aria-hidden title="Drag to move">
          <Icon name="grip" />
        </span>
        <button
          type="button"
          className="card-main"
          aria-pressed={selected}
          aria-label={`Step ${step.name || step.id} (${step.uses})${issues?.errors ? `, ${issues.errors} error(s)` : ''}${issues?.warnings ? `, ${issues.warnings} warning(s)` : ''}`}
          onClick={() => api.select(step.id)}
        >
          <span className="card-icon">
            <ConnectorIcon icon={connector?.icon} name={connName} size={20} />
          </span>
          <span className="card-text">
            <span className="card-title">
              {step.name || step.id}
              {step.name ? <span className="muted small"> · {step.id}</span> : null}
            </span>
            <span className="card-sub small muted">
              {action?.title ?? step.uses}
              {step.connection ? ` · ${step.connection}` : ''}
              {step.if ? ' · conditional' : ''}
            </span>
            {sum ? <span className="card-sum small mono">{sum.length > 80 ? sum.slice(0, 77) + '…' : sum}</span> : null}
          </span>
          {issues?.errors ? (
            <span className="card-flag flag-error" title="This step has errors">
              <Icon name="alert" size={14} /> {issues.errors}
            </span>
          ) : issues?.warnings ? (
            <span className="card-flag flag-warn" title="This step has warnings">
              <Icon name="alert" size={14} /> {issues.warnings}
            </span>
          ) : null}
        </button>
        {!api.readOnly ? (
          <span className="card-tools">
            <button type="button" className="icon-btn icon-btn-small" aria-label={`Move ${step.id} up`} title="Move up" disabled={index === 0} onClick={() => api.moveBy(path, -1)}>
              <Icon name="arrowUp" size={14} />
            </button>
            <button type="button" className="icon-btn icon-btn-small" aria-label={`Move ${step.id} down`} title="Move down" disabled={index === count - 1} onClick={() => api.moveBy(path, 1)}>
              <Icon name="arrowDown" size={14} />
            </button>
            <button type="button" className="icon-btn icon-btn-small danger" aria-label={`Remove step ${step.id}`} title="Remove" onClick={() => api.remove(path)}>
              <Icon name="trash" size={14} />
            </button>
          </span>
        ) : null}
      </div>
      {branches.length ? (
        <div className="branches">
          {branches.map((b) => (
            <div key={b} className={`branch branch-${b}`}>
              <div className="branch-label">{BRANCH_LABEL[b] ?? b}</div>
              <List steps={(step[b] as Step[]) ?? []} listPath={`${path}.${b}`} />
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}

function List({ steps, listPath }: { steps: Step[]; listPath: string }) {
  return (
    <div className="step-list" data-list={listPath}>
      <InsertSlot listPath={listPath} index={0} label={steps.length ? `Add a step at the start of ${listPath}` : `Add a step to ${listPath}`} />
      {steps.map((s, i) => (
        <div key={s.id + ':' + i}>
          <StepCard step={s} path={`${listPath}[${i}]`} index={i} count={steps.length} />
          <InsertSlot listPath={listPath} index={i + 1} label={`Add a step after ${s.id}`} />
        </div>
      ))}
    </div>
  );
}

export function StepList({ steps, api }: { steps: Step[]; api: StepListApi }) {
  const [dragging, setDragging] = useState<string | null>(null);
  return (
    <Ctx.Provider value={api}>
      <DragCtx.Provider value={{ dragging, setDragging }}>
        <List steps={steps} listPath="steps" />
      </DragCtx.Provider>
    </Ctx.Provider>
  );
}
