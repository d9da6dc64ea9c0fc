// The data beside the selected step: the input it would receive — the trigger
// and every earlier step's output — from the chosen sample (a past run, a
// webhook delivery or the flow's pinned data), as an expandable tree. A click
// on a field inserts its reference into the step form's last-focused field.
import { useEffect, useState } from 'react';
import { deliveries as deliveriesApi, errorMessage, runs as runsApi, type Delivery, type FlowDocument, type Json, type Run } from '../../api';
import { describeSample, hasPinned, refPath, sampleData, shortValue, typeOf, type SampleData, type SampleSource } from '../../lib/sample';
import { Icon } from '../icons';

/** Children shown per object or array; the rest are counted. */
const MAX_CHILDREN = 100;

function sourceKey(s: SampleSource): string {
  return s.kind === 'run' ? `run:${s.run.id}` : s.kind === 'delivery' ? `delivery:${s.delivery.id}` : s.kind;
}

/** The sample picker: pinned data, one of the last 20 runs, a webhook delivery, or nothing. */
export function SamplePicker({ flowId, doc, source, onSource }: { flowId: string | null; doc: FlowDocument; source: SampleSource; onSource: (s: SampleSource) => void }) {
  const [runList, setRunList] = useState<Run[]>([]);
  const [deliveryList, setDeliveryList] = useState<Delivery[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const webhook = doc.trigger.type === 'webhook';

  useEffect(() => {
    if (!flowId) return;
    const ctl = new AbortController();
    runsApi
      .list({ flow_id: flowId, limit: 20 }, ctl.signal)
      .then((r) => setRunList(r.runs ?? []))
      .catch(() => {});
    if (webhook)
      deliveriesApi
        .list(flowId, ctl.signal)
        .then((r) => setDeliveryList((r.deliveries ?? []).filter((d) => d.auth_passed !== false).slice(0, 20)))
        .catch(() => {});
    return () => ctl.abort();
  }, [flowId, webhook, source.kind === 'run' ? source.run.id : '']);

  const choose = async (key: string) => {
    setError(null);
    const colon = key.indexOf(':');
    const kind = colon < 0 ? key : key.slice(0, colon);
    const id = colon < 0 ? '' : key.slice(colon + 1);
    if (kind === 'pinned' || kind === 'none') return onSource({ kind });
    setBusy(true);
    try {
      if (kind === 'run') onSource({ kind: 'run', run: await runsApi.get(id) });
      else onSource({ kind: 'delivery', delivery: await deliveriesApi.get(id) });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const current = sourceKey(source);
  const listedRun = source.kind !== 'run' || runList.some((r) => r.id === source.run.id);
  const listedDelivery = source.kind !== 'delivery' || deliveryList.some((d) => d.id === source.delivery.id);
  return (
    <div className="sample-picker">
      <label className="small muted" htmlFor="sample-source">
        Sample
      </label>
      <select id="sample-source" value={current} disabled={busy} onChange={(e) => void choose(e.target.value)} data-testid="sample-source">
        {hasPinned(doc) ? <option value="pinned">Pinned sample data</option> : null}
        {runList.length || !listedRun ? (
          <optgroup label="Past runs (last 20)">
            {!listedRun && source.kind === 'run' ? <option value={current}>{describeSample(source)}</option> : null}
            {runList.map((r) => (
              <option key={r.id} value={`run:${r.id}`}>
                {describeSample({ kind: 'run', run: r })}
              </option>
            ))}
          </optgroup>
        ) : null}
        {deliveryList.length || !listedDelivery ? (
          <optgroup label="Webhook deliveries">
            {!listedDelivery && source.kind === 'delivery' ? <option value={current}>{describeSample(source)}</option> : null}
            {deliveryList.map((d) => (
              <option key={d.id} value={`delivery:${d.id}`}>
                {describeSample({ kind: 'delivery', delivery: d })}
              </option>
            ))}
          </optgroup>
        ) : null}
        <option value="none">No sample</option>
      </select>
      <div className="small muted" data-testid="sample-active">
        Using {describeSample(source)}
      </div>
      {error ? <div className="field-error">{error}</div> : null}
    </div>
  );
}

function TreeNode({ name, value, root, keys, depth, onPick }: { name: string; value: Json; root: string; keys: (string | number)[]; depth: number; onPick: (path: string) => void }) {
  const container = value !== null && typeof value === 'object';
  const [open, setOpen] = useState(depth < 2);
  const path = refPath(root, keys);
  const entries: [string | number, Json][] = !container ? [] : Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return (
    <li className="tree-node" data-path={path}>
      <div className="tree-row">
        {container ? (
          <button type="button" className="tree-toggle" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} ${name}`} onClick={() => setOpen(!open)}>
            <Icon name={open ? 'chevronDown' : 'chevronRight'} size={12} />
          </button>
        ) : (
          <span className="tree-toggle" />
        )}
        <button
          type="button"
          className="tree-key"
          title={`Insert {{ ${path} }}`}
          // Keep the focus (and caret) in the step form's field.
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => onPick(path)}
          data-testid="data-field"
        >
          {name}
        </button>
        <span className="tree-type small muted">{typeOf(value)}</span>
        {!container ? (
          <code className="tree-value small" title={typeof value === 'string' ? value : undefined}>
            {shortValue(value)}
          </code>
        ) : null}
      </div>
      {container && open ? (
        <ul className="tree">
          {entries.slice(0, MAX_CHILDREN).map(([k, v]) => (
            <TreeNode key={String(k)} name={typeof k === 'number' ? `[${k}]` : k} value={v} root={root} keys={[...keys, k]} depth={depth + 1} onPick={onPick} />
          ))}
          {entries.length > MAX_CHILDREN ? <li className="small muted">… {entries.length - MAX_CHILDREN} more</li> : null}
        </ul>
      ) : null}
    </li>
  );
}

/** The trigger and the outputs of the steps before the selected one, from the sample. */
export function DataPanel({
  flowId,
  doc,
  source,
  onSource,
  earlier,
  onPick,
  onPin,
}: {
  flowId: string | null;
  doc: FlowDocument;
  source: SampleSource;
  onSource: (s: SampleSource) => void;
  /** Ids of the steps before the selected one, in the flow's order. */
  earlier: string[];
  onPick: (path: string) => void;
  /** Pins the shown data as the flow's sample. */
  onPin?: (data: SampleData) => void;
}) {
  const data = sampleData(source, doc);
  return (
    <section className="data-panel" aria-label="Input data" data-testid="data-panel">
      <h3>Input data</h3>
      <SamplePicker flowId={flowId} doc={doc} source={source} onSource={onSource} />
      <p className="small muted">Click a field to insert it where the cursor was in the step&apos;s form.</p>
      <ul className="tree tree-root">
        <TreeNode name="trigger" value={data.trigger} root="trigger" keys={[]} depth={0} onPick={onPick} />
        {earlier.map((id) =>
          id in data.steps ? (
            <TreeNode key={id} name={`steps.${id}.output`} value={data.steps[id].output} root={`steps.${id}.output`} keys={[]} depth={0} onPick={onPick} />
          ) : (
            <li key={id} className="tree-node small muted">
              <code>steps.{id}.output</code>: not in this sample
            </li>
          ),
        )}
      </ul>
      {onPin && (source.kind === 'run' || source.kind === 'delivery') ? (
        <button type="button" className="btn btn-small" onClick={() => onPin({ trigger: data.trigger, steps: Object.fromEntries(Object.entries(data.steps).map(([k, v]) => [k, { output: v.output }])) })} data-testid="pin-sample">
          Pin this data
        </button>
      ) : null}
    </section>
  );
}
