// Flow Editor: trigger card, step cards, side form, detail panel, Save
// (Ctrl/Cmd+S) with server validation shown on the card and field it names,
// the data panel beside a selected step (sample data, click to insert a
// reference), Run and Run to here, and keyboard shortcuts (`?` lists them).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useBlocker, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import {
  ApiError,
  deliveries,
  errorMessage,
  flows,
  runs,
  type ApiErrorDetail,
  type Flow,
  type FlowDocument,
  type JsonObject,
  type Run,
  type Step,
} from '../api';
import { useCanEdit } from '../components/Auth';
import { DataPanel } from '../components/editor/DataPanel';
import { DetailPanel } from '../components/editor/DetailPanel';
import { ShortcutsDialog, isTyping } from '../components/editor/Shortcuts';
import { pathsOf, type ExprContext } from '../components/editor/ExprInput';
import { Palette } from '../components/editor/Palette';
import { StepForm, type StepProblem } from '../components/editor/StepForm';
import { StepList, type StepListApi } from '../components/editor/StepList';
import { pollLine } from '../components/editor/PollForm';
import { TestStep } from '../components/editor/TestStep';
import { TRIGGER_INFO, TriggerForm } from '../components/editor/TriggerForm';
import { Icon } from '../components/icons';
import { RunDialog } from '../components/RunView';
import { useToast } from '../components/Toast';
import { ConfirmDialog, ErrorBox, Loading, Modal, Spinner, Toggle } from '../components/ui';
import { useCatalog, useConnections } from '../lib/catalog';
import {
  allIds,
  branchesOf,
  cleanDocument,
  flatten,
  getStep,
  insertStep,
  moveStep,
  newStepId,
  removeStep,
  renameStepRefs,
  splitStepPath,
  stepPathOf,
  stepsBefore,
  toDocument,
  updateStep,
} from '../lib/flow';
import { useDocumentTitle } from '../lib/hooks';
import { defaultSample, hasPinned, referenceText, sampleData, type FieldKind, type SampleData, type SampleSource } from '../lib/sample';

type Selection = { kind: 'details' } | { kind: 'trigger' } | { kind: 'step'; id: string };

interface Problems {
  doc: ApiErrorDetail[];
  trigger: ApiErrorDetail[];
  steps: Record<string, StepProblem[]>;
}
const NO_PROBLEMS: Problems = { doc: [], trigger: [], steps: {} };

function newDocument(): FlowDocument {
  return { name: '', description: '', trigger: { type: 'manual' }, steps: [] };
}

/** Sorts server details (paths from the document that was sent) onto the trigger, steps (by id) and the rest. */
function indexProblems(details: ApiErrorDetail[], sent: FlowDocument): Problems {
  const out: Problems = { doc: [], trigger: [], steps: {} };
  for (const d of details) {
    const path = d.path ?? '';
    const sp = stepPathOf(path);
    const step = sp ? getStep(sent.steps, sp) : undefined;
    if (sp && step) {
      const rest = path.slice(sp.length).replace(/^\./, '');
      (out.steps[step.id] ??= []).push({ rest, message: d.message });
    } else if (path.startsWith('trigger')) out.trigger.push(d);
    else out.doc.push(d);
  }
  return out;
}

function normalizeWarnings(w: Flow['warnings']): ApiErrorDetail[] {
  if (!Array.isArray(w)) return [];
  return w.map((x) => (typeof x === 'string' ? { path: '', message: x } : x));
}

function canonical(doc: FlowDocument): string {
  return JSON.stringify(cleanDocument(doc));
}

/** Expression context from the sample: trigger, steps.<id>.output/status, run. */
function buildContext(sample: SampleData, lastRun: Run | null, doc: FlowDocument, path: string | null): ExprContext {
  const stepOutputs: Record<string, JsonObject> = {};
  for (const [id, s] of Object.entries(sample.steps)) stepOutputs[id] = { output: s.output, status: s.status ?? 'succeeded' };
  const trigger = sample.trigger;
  const input: JsonObject = {
    trigger,
    steps: stepOutputs,
    run: lastRun ? { id: lastRun.id, flow_id: lastRun.flow_id, flow_version: lastRun.flow_version ?? null, started_at: lastRun.started_at ?? null } : {},
  };
  const paths: string[] = [];
  const base =
    doc.trigger.type === 'webhook'
      ? ['trigger.body', 'trigger.headers', 'trigger.query', 'trigger.method', 'trigger.path', 'trigger.received_at']
      : doc.trigger.type === 'schedule'
        ? ['trigger.scheduled_for', 'trigger.fired_at']
        : doc.trigger.type === 'poll'
          ? doc.trigger.poll?.emit === 'batch'
            ? ['trigger.items', 'trigger.keys', 'trigger.polled_at']
            : ['trigger.item', 'trigger.key', 'trigger.polled_at']
          : ['trigger.body', 'trigger.headers', 'trigger.query'];
  paths.push('trigger', ...base);
  paths.push(...pathsOf('trigger', trigger));
  const earlier = path ? stepsBefore(doc.steps, path) : flatten(doc.steps);
  const here = path ? flatten(doc.steps).find((f) => f.path === path) : undefined;
  for (const f of earlier) {
    // Ancestors of the step are "before" it but only containers' outputs after they finish; still offer them.
    paths.push(`steps.${f.step.id}.output`, `steps.${f.step.id}.status`);
    const out = stepOutputs[f.step.id]?.output;
    if (out !== undefined && out !== null) paths.push(...pathsOf(`steps.${f.step.id}.output`, out).slice(1));
  }
  if (here?.inLoop) {
    paths.push('item', 'index');
    input.item = null;
    input.index = 0;
  }
  paths.push('run.id', 'run.flow_id', 'run.flow_version', 'run.started_at');
  return { input, paths: [...new Set(paths)] };
}

export function FlowEditorPage() {
  const { id } = useParams<{ id: string }>();
  const isNew = !id || id === 'new';
  const navigate = useNavigate();
  const toast = useToast();
  const canEdit = useCanEdit();
  const catalog = useCatalog();
  const conns = useConnections();

  const [flow, setFlow] = useState<Flow | null>(null);
  const [doc, setDoc] = useState<FlowDocument>(newDocument);
  const [saved, setSaved] = useState<string>(() => canonical(newDocument()));
  const [loadError, setLoadError] = useState<unknown>(null);
  const [loading, setLoading] = useState(!isNew);
  const [selection, setSelection] = useState<Selection>({ kind: isNew ? 'trigger' : 'details' });
  const [problems, setProblems] = useState<Problems>(NO_PROBLEMS);
  const [warnings, setWarnings] = useState<Problems>(NO_PROBLEMS);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [saving, setSaving] = useState(false);
  const [toggling, setToggling] = useState(false);
  const [palette, setPalette] = useState<{ listPath: string; index: number } | null>(null);
  const [running, setRunning] = useState(false);
  const [lastRun, setLastRun] = useState<Run | null>(null);
  // The data panel's sample (null: pinned data, else the last run).
  const [sampleChoice, setSampleChoice] = useState<SampleSource | null>(null);
  const [runUntil, setRunUntil] = useState<string | null>(null);
  const [showShortcuts, setShowShortcuts] = useState(false);
  const [searchParams] = useSearchParams();
  // The step form's field focused last: where a click in the data panel inserts.
  const lastField = useRef<HTMLInputElement | HTMLTextAreaElement | null>(null);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [effectsConfirmed, setEffectsConfirmed] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState<{ path: string; id: string; nested: number } | null>(null);
  const skipBlock = useRef(false);
  const sideRef = useRef<HTMLElement>(null);

  // On a narrow screen the side form sits below the canvas: bring it into view on selection.
  useEffect(() => {
    if (window.innerWidth <= 860 && selection.kind !== 'details') sideRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }, [selection]);

  useDocumentTitle(isNew ? 'New flow' : doc.name || 'Flow');
  const dirty = canonical(doc) !== saved;

  const load = useCallback(async () => {
    if (isNew || !id) return;
    setLoading(true);
    setLoadError(null);
    try {
      const f = await flows.get(id);
      const d = toDocument(f);
      setFlow(f);
      setDoc(d);
      setSaved(canonical(d));
      setProblems(NO_PROBLEMS);
      setConflict(false);
    } catch (e) {
      setLoadError(e);
    } finally {
      setLoading(false);
    }
  }, [id, isNew]);

  useEffect(() => {
    if (isNew) {
      setFlow(null);
      const d = newDocument();
      setDoc(d);
      setSaved(canonical(d));
      setSelection({ kind: 'trigger' });
      setLoading(false);
      return;
    }
    void load();
  }, [isNew, load]);

  // The last run's outputs feed expression suggestions and previews.
  useEffect(() => {
    if (!flow?.id) return;
    const ctl = new AbortController();
    runs
      .list({ flow_id: flow.id, limit: 1 }, ctl.signal)
      .then(async (r) => {
        const first = r.runs?.[0];
        if (!first) return setLastRun(null);
        const full = first.steps?.length ? first : await runs.get(first.id, ctl.signal);
        if (!ctl.signal.aborted) setLastRun(full);
      })
      .catch(() => {});
    return () => ctl.abort();
  }, [flow?.id, running, runUntil]);

  // "Use as sample" on the Webhooks page: /flows/{id}?sample_delivery={delivery id}.
  const deliveryParam = searchParams.get('sample_delivery');
  useEffect(() => {
    if (!deliveryParam) return;
    let live = true;
    deliveries
      .get(deliveryParam)
      .then((d) => {
        if (!live) return;
        setSampleChoice({ kind: 'delivery', delivery: d });
        toast('Using the webhook delivery as the sample', 'info');
      })
      .catch((e) => live && toast(`Could not load the delivery: ${errorMessage(e)}`, 'error'));
    return () => {
      live = false;
    };
  }, [deliveryParam, toast]);

  // Unsaved-changes warning: leaving the page in the app, and closing the tab.
  const blocker = useBlocker(({ currentLocation, nextLocation }) => dirty && !skipBlock.current && currentLocation.pathname !== nextLocation.pathname);
  useEffect(() => {
    if (!dirty) return;
    const h = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', h);
    return () => window.removeEventListener('beforeunload', h);
  }, [dirty]);

  const save = useCallback(async () => {
    if (!canEdit || saving) return;
    const body = cleanDocument(doc);
    setSaving(true);
    setSaveError(null);
    try {
      const f = isNew || !flow ? await flows.create(body) : await flows.save(flow.id, body, flow.version);
      const d = toDocument(f);
      setFlow(f);
      setDoc(d);
      setSaved(canonical(d));
      setProblems(NO_PROBLEMS);
      setConflict(false);
      const w = normalizeWarnings(f.warnings);
      setWarnings(indexProblems(w, body));
      toast(w.length ? `Saved version ${f.version} with ${w.length} warning${w.length > 1 ? 's' : ''}` : `Saved version ${f.version}`, w.length ? 'info' : 'success');
      if (isNew) {
        skipBlock.current = true;
        navigate(`/flows/${f.id}`, { replace: true });
        setTimeout(() => (skipBlock.current = false), 0);
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.code === 'version_conflict') {
        setConflict(true);
      } else if (e instanceof ApiError && e.details.length) {
        const p = indexProblems(e.details, body);
        setProblems(p);
        setSaveError(e);
        // Bring the first problem into view.
        const firstStep = Object.keys(p.steps)[0];
        if (p.trigger.length) setSelection({ kind: 'trigger' });
        else if (firstStep) setSelection({ kind: 'step', id: firstStep });
        else if (p.doc.length) setSelection({ kind: 'details' });
      } else {
        setSaveError(e);
      }
    } finally {
      setSaving(false);
    }
  }, [canEdit, saving, doc, isNew, flow, toast, navigate]);

  // Keyboard: Ctrl/Cmd+S saves anywhere; the other shortcuts (Shortcuts.tsx)
  // only when no field has the focus and no dialog is open.
  const keys = useRef<(e: KeyboardEvent) => void>(() => {});
  useEffect(() => {
    const h = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener('keydown', h);
    return () => window.removeEventListener('keydown', h);
  }, []);

  const toggleActive = async (on: boolean) => {
    if (!flow) return;
    setToggling(true);
    setFlow((cur) => (cur ? { ...cur, active: on } : cur)); // optimistic; reverted below on failure
    try {
      const f = await flows.setActive(flow.id, on);
      setFlow((cur) =>
        cur
          ? {
              ...cur,
              active: f?.active ?? on,
              next_run_at: on ? (f?.next_run_at ?? cur.next_run_at) : null,
              webhook_url: f?.webhook_url ?? cur.webhook_url,
              missed_fires: f?.missed_fires ?? cur.missed_fires,
            }
          : cur,
      );
      toast(on ? 'Flow is active' : 'Flow is inactive', 'success');
    } catch (e) {
      setFlow((cur) => (cur ? { ...cur, active: !on } : cur));
      if (e instanceof ApiError && e.details.length) setProblems(indexProblems(e.details, doc));
      toast(`Could not ${on ? 'activate' : 'deactivate'}: ${errorMessage(e)}`, 'error');
    } finally {
      setToggling(false);
    }
  };

  const rotate = async () => {
    if (!flow) return;
    const f = await flows.rotateWebhook(flow.id);
    setFlow((cur) => (cur ? { ...cur, webhook_url: f.webhook_url } : cur));
    toast('New webhook URL issued; the old one no longer works', 'success');
  };

  // ---- step operations ----------------------------------------------------
  const selectedPath = useMemo(() => {
    if (selection.kind !== 'step') return null;
    return flatten(doc.steps).find((f) => f.step.id === selection.id)?.path ?? null;
  }, [selection, doc.steps]);
  const selectedStep = selectedPath ? getStep(doc.steps, selectedPath) : undefined;

  const setSteps = (fn: (s: Step[]) => Step[]) => setDoc((d) => ({ ...d, steps: fn(d.steps) }));

  const addStep = (uses: string) => {
    if (!palette) return;
    const sid = newStepId(doc.steps, uses);
    const { connector, action } = catalog.action(uses);
    const step: Step = { id: sid, uses, with: {} };
    for (const inp of action?.inputs ?? []) if (inp.required && inp.default !== undefined) step.with![inp.name] = inp.default;
    for (const b of branchesOf(step)) step[b] = [];
    const usable = conns.list.filter((c) => c.connector === connector?.name);
    if (usable.length === 1) step.connection = usable[0].name;
    setSteps((s) => insertStep(s, palette.listPath, palette.index, step));
    setPalette(null);
    setSelection({ kind: 'step', id: sid });
    focusCard(sid); // the keyboard goes on from the new card (Enter: its first input)
  };

  const listApi: StepListApi = {
    catalog,
    selectedId: selection.kind === 'step' ? selection.id : null,
    select: (sid) => setSelection({ kind: 'step', id: sid }),
    insertAt: (listPath, index) => setPalette({ listPath, index }),
    move: (from, listPath, index) => setSteps((s) => moveStep(s, from, listPath, index)),
    moveBy: (path, delta) => {
      const { listPath, index } = splitStepPath(path);
      setSteps((s) => moveStep(s, path, listPath, delta < 0 ? index - 1 : index + 2));
    },
    remove: (path) => {
      const st = getStep(doc.steps, path);
      const nested = st ? flatten([st]).length - 1 : 0;
      if (nested > 0) setConfirmRemove({ path, id: st!.id, nested });
      else removeAt(path);
    },
    issues: (sid) => {
      const e = problems.steps[sid]?.length ?? 0;
      const w = warnings.steps[sid]?.length ?? 0;
      return e || w ? { errors: e, warnings: w } : undefined;
    },
    readOnly: !canEdit,
  };

  const removeAt = (path: string) => {
    const st = getStep(doc.steps, path);
    setSteps((s) => removeStep(s, path));
    if (st && selection.kind === 'step' && flatten([st]).some((f) => f.step.id === selection.id)) setSelection({ kind: 'details' });
  };

  const onStepChange = (next: Step) => {
    if (!selectedPath || !selectedStep) return;
    // Drop the server's remarks on fields the user has just changed.
    const changed = (rest: string) => {
      const key = rest.split(/[.[]/)[0];
      if (key === 'with') {
        const k = rest.slice(5).split(/[.[]/)[0];
        return JSON.stringify(selectedStep.with?.[k]) !== JSON.stringify(next.with?.[k]);
      }
      return JSON.stringify(selectedStep[key]) !== JSON.stringify(next[key]);
    };
    const prune = (p: Problems): Problems => {
      const list = p.steps[selectedStep.id];
      if (!list) return p;
      return { ...p, steps: { ...p.steps, [selectedStep.id]: list.filter((x) => !x.rest || !changed(x.rest)) } };
    };
    setProblems(prune);
    setWarnings(prune);
    setSteps((s) => updateStep(s, selectedPath, () => next));
  };

  // The step form keeps its key across renames: a remount would drop the focus
  // of the field the user clicked right after editing the id (and what they type next).
  const formKeys = useRef(new Map<string, string>());
  const renameStep = (newId: string) => {
    if (!selectedPath || !selectedStep) return;
    const old = selectedStep.id;
    formKeys.current.set(newId, formKeys.current.get(old) ?? old);
    formKeys.current.delete(old);
    setSteps((s) => updateStep(s, selectedPath, (st) => ({ ...st, id: newId })));
    setSelection({ kind: 'step', id: newId });
    const move = (p: Problems): Problems => {
      if (!p.steps[old]) return p;
      const { [old]: list, ...rest } = p.steps;
      return { ...p, steps: { ...rest, [newId]: list } };
    };
    setProblems(move);
    setWarnings(move);
    const count = renameStepRefs(doc.steps, old, newId).count;
    // After this key event: an Enter that committed the id must not also press the dialog's first button.
    if (count) setTimeout(() => setConfirmRefs({ from: old, to: newId, count }), 0);
  };
  const [confirmRefs, setConfirmRefs] = useState<{ from: string; to: string; count: number } | null>(null);

  // Rebuild the expression context only when what it depends on changes, not on every keystroke.
  const ctxKey = useMemo(() => {
    const before = selectedPath ? stepsBefore(doc.steps, selectedPath) : flatten(doc.steps);
    const here = selectedPath ? flatten(doc.steps).find((f) => f.path === selectedPath) : undefined;
    return JSON.stringify([doc.trigger.type, before.map((f) => f.step.id), here?.inLoop ?? false]);
  }, [doc.steps, doc.trigger.type, selectedPath]);
  const docRef = useRef(doc);
  docRef.current = doc;
  const pinned = hasPinned(doc);
  const sample: SampleSource = useMemo(
    () => (sampleChoice && !(sampleChoice.kind === 'pinned' && !pinned) ? sampleChoice : defaultSample(docRef.current, lastRun)),
    [sampleChoice, pinned, lastRun],
  );
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const sampleInfo = useMemo(() => sampleData(sample, docRef.current), [sample, doc.sample, doc.trigger.type]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const ctx = useMemo(() => buildContext(sampleInfo, lastRun, docRef.current, selectedPath), [sampleInfo, lastRun, ctxKey, selectedPath]);
  const earlierIds = useMemo(() => (selectedPath ? stepsBefore(doc.steps, selectedPath).map((f) => f.step.id) : []), [doc.steps, selectedPath]);
  const topLevel = !!selectedPath && /^steps\[\d+\]$/.test(selectedPath);

  // Inserts a reference at the caret of the step form's last-focused field, as if typed.
  const insertReference = (path: string) => {
    const el = lastField.current;
    if (!el || !el.isConnected) {
      toast('Click into a field of the step first, then on the data to insert', 'info');
      return;
    }
    const kind: FieldKind = el.dataset.expr === 'bare' ? 'bare' : el.dataset.json ? 'json' : 'template';
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? start;
    const text = referenceText(kind, el.value, start, path);
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value')?.set?.call(el, el.value.slice(0, start) + text + el.value.slice(end));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.focus();
    const caret = start + text.length;
    el.setSelectionRange(caret, caret);
  };
  useEffect(() => {
    lastField.current = null;
  }, [selectedPath]);

  // Selection order for ↑/↓: the trigger, then every step as listed.
  const order = ['trigger', ...flatten(doc.steps).map((f) => f.step.id)];
  const focusCard = (key: string) =>
    requestAnimationFrame(() => {
      const el = document.querySelector<HTMLElement>(key === 'trigger' ? '[data-testid=trigger-card] .card-main' : `[data-testid=step-card][data-step-id="${key}"] .card-main`);
      el?.focus();
      el?.scrollIntoView({ block: 'nearest' });
    });
  const openPaletteAfterSelection = () => {
    if (!canEdit) return;
    if (selectedPath) {
      const { listPath, index } = splitStepPath(selectedPath);
      setPalette({ listPath, index: index + 1 });
    } else setPalette({ listPath: 'steps', index: selection.kind === 'trigger' ? 0 : doc.steps.length });
  };
  keys.current = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
      e.preventDefault();
      void save();
      return;
    }
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (document.querySelector('[role=dialog]') || palette) return;
    if (isTyping(e.target)) {
      // Esc leaves a field of the side panel for the shortcuts (a suggestion list closes first).
      if (e.key === 'Escape' && sideRef.current?.contains(e.target as Node)) {
        (e.target as HTMLElement).blur();
        focusCard(selection.kind === 'step' ? selection.id : 'trigger');
      }
      return;
    }
    const current = selection.kind === 'step' ? selection.id : selection.kind === 'trigger' ? 'trigger' : null;
    switch (e.key) {
      case '?':
        setShowShortcuts(true);
        break;
      case 'ArrowDown':
      case 'j':
      case 'ArrowUp':
      case 'k': {
        const up = e.key === 'ArrowUp' || e.key === 'k';
        const at = current ? order.indexOf(current) : -1;
        const next = order[Math.max(0, Math.min(order.length - 1, at < 0 ? 0 : at + (up ? -1 : 1)))];
        setSelection(next === 'trigger' ? { kind: 'trigger' } : { kind: 'step', id: next });
        focusCard(next);
        break;
      }
      case 'a':
        openPaletteAfterSelection();
        break;
      case 'Enter': {
        if (!(e.target instanceof HTMLElement) || !e.target.classList.contains('card-main')) return;
        // The action's first input, else the form's first field (the trigger's).
        const fields = '.expr-field, textarea, select, input:not([type=checkbox]):not([type=radio])';
        const field = sideRef.current?.querySelector<HTMLElement>(`.inputs :is(${fields})`) ?? sideRef.current?.querySelector<HTMLElement>(fields);
        if (!field) return;
        field.focus();
        break;
      }
      case 'r':
        if (flow && canEdit) setRunning(true);
        break;
      case 'R':
        if (flow && canEdit && topLevel && selectedStep) setRunUntil(selectedStep.id);
        break;
      case 't':
        document.querySelector<HTMLButtonElement>('[data-testid=test-step-button]:not([disabled])')?.click();
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  if (loading) return <Loading what="Loading the flow…" />;
  if (loadError) {
    return (
      <div className="page">
        <ErrorBox error={loadError} onRetry={load} title={loadError instanceof ApiError && loadError.status === 404 ? 'This flow does not exist' : undefined} />
        <p>
          <Link to="/">Back to the flows</Link>
        </p>
      </div>
    );
  }

  const trig = TRIGGER_INFO[doc.trigger.type] ?? TRIGGER_INFO.manual;
  const triggerSub =
    doc.trigger.type === 'webhook'
      ? flow?.webhook_url ?? 'URL created on first save'
      : doc.trigger.type === 'schedule'
        ? scheduleLine(doc)
        : doc.trigger.type === 'poll'
          ? pollLine(doc.trigger.poll)
          : 'Run button or API';
  const problemCount = problems.doc.length + problems.trigger.length + Object.values(problems.steps).reduce((n, l) => n + l.length, 0);

  return (
    <div className="editor">
      <div className="editor-bar">
        <Link to="/" className="icon-btn" aria-label="Back to flows" title="Back to flows">
          <Icon name="chevronRight" className="flip" />
        </Link>
        <input
          className="title-input"
          aria-label="Flow name"
          placeholder="Untitled flow"
          value={doc.name}
          onChange={(e) => setDoc((d) => ({ ...d, name: e.target.value }))}
          aria-invalid={problems.doc.some((p) => p.path === 'name')}
          data-testid="flow-name-input"
        />
        {flow ? <span className="pill">v{flow.version}</span> : <span className="pill">new</span>}
        {dirty ? (
          <span className="dirty" data-testid="unsaved-indicator">
            Unsaved changes
          </span>
        ) : null}
        <span className="grow" />
        {flow ? (
          <Toggle checked={flow.active} label={flow.active ? 'Active' : 'Inactive'} showLabel onChange={toggleActive} busy={toggling} disabled={!canEdit} testId="editor-active-toggle" />
        ) : null}
        <button type="button" className="icon-btn" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={() => setShowShortcuts(true)} data-testid="shortcuts-button">
          <kbd>?</kbd>
        </button>
        <button type="button" className={`btn btn-ghost${selection.kind === 'details' ? ' pressed' : ''}`} aria-pressed={selection.kind === 'details'} onClick={() => setSelection({ kind: 'details' })}>
          <Icon name="info" /> Details
        </button>
        <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={saving || !canEdit} title="Save (Ctrl+S / ⌘S)" data-testid="save-flow">
          {saving ? <Spinner label="Saving" /> : <Icon name="check" />} Save
        </button>
      </div>

      {conflict ? (
        <div className="banner banner-warn" role="alert" data-testid="version-conflict">
          <Icon name="alert" />
          <span>
            <strong>Someone saved a newer version of this flow</strong> (another tab or person). Reload to see it — your changes here will be lost — or
            save yours on top of it.
          </span>
          <button type="button" className="btn btn-small" onClick={() => void load()}>
            Reload latest
          </button>
          <button
            type="button"
            className="btn btn-small btn-danger"
            onClick={async () => {
              if (!flow) return;
              try {
                const latest = await flows.get(flow.id);
                setFlow(latest);
                setConflict(false);
                toast('Now based on the latest version; press Save again to overwrite', 'info');
              } catch (e) {
                toast(errorMessage(e), 'error');
              }
            }}
          >
            Save mine over it…
          </button>
        </div>
      ) : null}
      {saveError && !conflict ? (
        <div className="banner banner-error" role="alert" data-testid="save-error">
          <Icon name="alert" />
          <span>
            <strong>Not saved.</strong> {errorMessage(saveError)}
            {problemCount ? ` (${problemCount} problem${problemCount > 1 ? 's' : ''} marked below)` : ''}
            {problems.doc.filter((p) => p.path !== 'name' && p.path !== 'description').map((p, i) => (
              <span key={i} className="block small">
                {p.path ? <code>{p.path}</code> : null} {p.message}
              </span>
            ))}
          </span>
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => setSaveError(null)}>
            <Icon name="x" />
          </button>
        </div>
      ) : null}

      <div className={`editor-body${selectedStep ? ' with-data' : ''}`}>
        <div className="canvas-wrap">
          <section className="canvas" aria-label="Flow steps">
            <div className="canvas-inner">
              <div className={`card trigger-card${selection.kind === 'trigger' ? ' selected' : ''}${problems.trigger.length ? ' has-error' : ''}`} data-testid="trigger-card" data-trigger-type={doc.trigger.type}>
                <button type="button" className="card-main" aria-pressed={selection.kind === 'trigger'} onClick={() => setSelection({ kind: 'trigger' })} aria-label={`Trigger: ${trig.title}`}>
                  <span className="card-icon trigger-icon">
                    <Icon name={trig.icon} size={20} />
                  </span>
                  <span className="card-text">
                    <span className="card-kicker small">Trigger</span>
                    <span className="card-title">{trig.title}</span>
                    <span className="card-sub small muted mono">{triggerSub}</span>
                  </span>
                  {problems.trigger.length ? (
                    <span className="card-flag flag-error">
                      <Icon name="alert" size={14} /> {problems.trigger.length}
                    </span>
                  ) : null}
                </button>
              </div>
              <StepList steps={doc.steps} api={listApi} />
              {!doc.steps.length ? <p className="muted small center">Press + to add the first step.</p> : null}
            </div>
          </section>
          <button
            type="button"
            className="run-fab"
            onClick={() => setRunning(true)}
            disabled={!flow || !canEdit}
            title={!flow ? 'Save the flow first' : dirty ? 'Runs the last saved version' : 'Run this flow now'}
            data-testid="run-flow"
          >
            <Icon name="play" size={16} /> Run
          </button>
        </div>

        {selectedStep ? (
          <aside className="data-side" aria-label="Sample data">
            <DataPanel
              flowId={flow?.id ?? null}
              doc={doc}
              source={sample}
              onSource={setSampleChoice}
              earlier={earlierIds}
              onPick={insertReference}
              onPin={
                canEdit
                  ? (data) => {
                      setDoc((d) => ({ ...d, sample: data }));
                      setSampleChoice({ kind: 'pinned' });
                      toast('Pinned as the flow’s sample data; save to keep it', 'info');
                    }
                  : undefined
              }
            />
          </aside>
        ) : null}
        <aside
          className="side"
          aria-label="Selected item"
          ref={sideRef}
          onFocusCapture={(e) => {
            const t = e.target;
            if ((t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement) && (t.classList.contains('expr-field') || t.dataset.json) && t.closest('[data-testid=step-form]'))
              lastField.current = t;
          }}
        >
          {selection.kind === 'details' ? (
            <DetailPanel
              doc={doc}
              onChange={setDoc}
              flow={flow}
              onToggleActive={toggleActive}
              toggling={toggling}
              onRotate={() => setConfirmRotate(true)}
              onRestore={(d, v) => {
                setDoc(toDocument(d));
                toast(`Loaded version ${v}; save to make it the latest`, 'info');
              }}
              onRestored={(f) => {
                toast(`Restored as version ${f.version}`, 'success');
                void load();
              }}
              dirty={dirty}
              errors={problems.doc}
              canEdit={canEdit}
            />
          ) : selection.kind === 'trigger' ? (
            <div>
              <h2>Trigger</h2>
              <TriggerForm
                trigger={doc.trigger}
                onChange={(t) => {
                  setDoc((d) => ({ ...d, trigger: t }));
                  if (problems.trigger.length) setProblems((p) => ({ ...p, trigger: [] }));
                }}
                webhookUrl={flow?.webhook_url}
                onRotate={flow && canEdit ? () => setConfirmRotate(true) : undefined}
                errors={problems.trigger}
                catalog={catalog}
                connections={conns.list}
                flowId={flow?.id}
                dirty={dirty}
                onConnectionCreated={(c) => {
                  conns.add(c);
                  toast(`Created ${c.name}`, 'success');
                }}
              />
            </div>
          ) : selectedStep ? (
            <>
            <StepForm
              key={formKeys.current.get(selectedStep.id) ?? selectedStep.id}
              step={selectedStep}
              onChange={onStepChange}
              onRename={renameStep}
              catalog={catalog}
              connections={conns.list}
              ctx={ctx}
              errors={problems.steps[selectedStep.id] ?? []}
              warnings={warnings.steps[selectedStep.id] ?? []}
              takenIds={allIds(doc.steps)}
              onConnectionCreated={(c) => {
                conns.add(c);
                toast(`Created ${c.name}`, 'success');
              }}
            />
            <TestStep
              key={`test-${selectedStep.id}`}
              flowId={flow?.id ?? null}
              doc={doc}
              step={selectedStep}
              source={sample}
              effectsConfirmed={effectsConfirmed}
              onEffectsConfirmed={() => setEffectsConfirmed(true)}
            />
            <div className="row gap-s run-to-here">
              <button
                type="button"
                className="btn"
                onClick={() => setRunUntil(selectedStep.id)}
                disabled={!flow || !canEdit || !topLevel}
                title={!flow ? 'Save the flow first' : !topLevel ? 'Run to here stops after a top-level step: choose the step that holds this one' : 'Run the flow up to this step (Shift+R)'}
                data-testid="run-to-here"
              >
                <Icon name="play" size={14} /> Run to here
              </button>
              <span className="small muted">the steps after it do not run</span>
            </div>
            </>
          ) : (
            <p className="muted">Select a card to edit it.</p>
          )}
        </aside>
      </div>


      {palette ? <Palette connectors={catalog.connectors} loading={catalog.loading} error={catalog.error} onRetry={catalog.retry} onPick={addStep} onClose={() => setPalette(null)} /> : null}
      {(running || runUntil) && flow ? (
        <RunDialog
          flowId={flow.id}
          flowName={doc.name || flow.name}
          triggerType={flow.trigger?.type}
          untilStep={runUntil ?? undefined}
          note={dirty ? `You have unsaved changes: this run uses the saved version ${flow.version}.` : undefined}
          onClose={() => {
            setRunning(false);
            setRunUntil(null);
          }}
        />
      ) : null}
      {showShortcuts ? <ShortcutsDialog onClose={() => setShowShortcuts(false)} /> : null}
      {confirmRefs ? (
        <ConfirmDialog
          title="Rename the references"
          message={
            <p>
              {confirmRefs.count} expression{confirmRefs.count > 1 ? 's' : ''} still read <code>steps.{confirmRefs.from}</code>, which no longer exists. Change{' '}
              {confirmRefs.count > 1 ? 'them' : 'it'} to <code>steps.{confirmRefs.to}</code>?
            </p>
          }
          confirmLabel="Rename references"
          danger={false}
          onConfirm={() => {
            const { from, to } = confirmRefs;
            setSteps((st) => renameStepRefs(st, from, to).steps);
            setConfirmRefs(null);
          }}
          onClose={() => setConfirmRefs(null)}
        />
      ) : null}
      {confirmRotate ? (
        <ConfirmDialog
          title="Rotate the webhook URL"
          message="A new URL is issued and the current one stops working at once. Senders must be given the new URL."
          confirmLabel="Rotate"
          onConfirm={rotate}
          onClose={() => setConfirmRotate(false)}
        />
      ) : null}
      {confirmRemove ? (
        <ConfirmDialog
          title="Remove step"
          message={
            <p>
              Remove <code>{confirmRemove.id}</code> and the {confirmRemove.nested} step{confirmRemove.nested > 1 ? 's' : ''} inside it? Nothing is saved until you
              press Save.
            </p>
          }
          confirmLabel="Remove"
          onConfirm={() => removeAt(confirmRemove.path)}
          onClose={() => setConfirmRemove(null)}
        />
      ) : null}
      {blocker.state === 'blocked' ? (
        <Modal
          title="Leave without saving?"
          onClose={() => blocker.reset?.()}
          footer={
            <>
              <button type="button" className="btn" onClick={() => blocker.reset?.()}>
                Stay
              </button>
              <button type="button" className="btn btn-danger" onClick={() => blocker.proceed?.()}>
                Discard changes
              </button>
            </>
          }
        >
          <p>This flow has unsaved changes. They will be lost.</p>
        </Modal>
      ) : null}
    </div>
  );
}

function scheduleLine(doc: FlowDocument): string {
  const s = doc.trigger.schedule;
  if (!s) return '';
  const tz = s.timezone ? ` · ${s.timezone}` : '';
  switch (s.kind) {
    case 'predefined':
      return `every ${s.every ?? '?'}${tz}`;
    case 'once':
      return `once at ${s.at || '?'}${tz}`;
    case 'cron':
      return `cron ${s.cron ?? ''}${tz}`;
    case 'custom':
      return s.every ? `every ${s.every} between ${s.between?.join('–') ?? ''}${tz}` : `at ${(s.times ?? []).join(', ')}${tz}`;
    default:
      return '';
  }
}
