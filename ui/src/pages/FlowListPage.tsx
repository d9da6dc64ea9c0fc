// Flow List (home): one row per flow from GET /flows, with search, filters,
// in-place name/description editing, the Active toggle and the gear menu.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { flows, type FlowRow } from '../api';
import { useCanEdit } from '../components/Auth';
import { ConnectorIcon, Icon } from '../components/icons';
import { RunDialog } from '../components/RunView';
import { useToast } from '../components/Toast';
import { ConfirmDialog, Empty, ErrorBox, Loading, Menu, Spinner, StatusBadge, Toggle } from '../components/ui';
import { useConnections } from '../lib/catalog';
import { toDocument } from '../lib/flow';
import { useAsync, useDocumentTitle } from '../lib/hooks';
import { fmtDateTime, fmtRelative } from '../lib/time';
import { errorMessage } from '../api';

/** The IANA zone named in a schedule summary ("…, Europe/Berlin"), if any. */
export function zoneFromSummary(summary?: string | null): string | undefined {
  if (!summary) return undefined;
  const m = /\b((?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)\/[A-Za-z0-9_+\-/]+|UTC)\b/.exec(summary);
  return m?.[1];
}

function ScheduledCell({ row }: { row: FlowRow }) {
  if (row.trigger_type === 'webhook') return <span className="pill pill-webhook">WEBHOOK</span>;
  if (row.trigger_type === 'poll')
    return (
      <div className="sched-cell">
        <span className="pill pill-poll" data-testid="trigger-new-data" title="Runs for each new item its source lists">
          <Icon name="database" size={12} /> NEW DATA
        </span>
        {row.next_run_at ? (
          <span className="small muted" data-testid="next-run">
            next check {fmtDateTime(row.next_run_at, undefined, false)}
          </span>
        ) : row.schedule_summary ? (
          <span className="small muted">{row.schedule_summary}</span>
        ) : null}
      </div>
    );
  if (row.trigger_type !== 'schedule') return <span className="pill">NONE</span>;
  const zone = row.timezone ?? zoneFromSummary(row.schedule_summary);
  return (
    <div className="sched-cell">
      {row.next_run_at ? (
        <span className="sched-next" title={row.schedule_summary ?? undefined} data-testid="next-run">
          <Icon name="clock" size={14} /> {fmtDateTime(row.next_run_at, zone, false)}
          {zone && !row.schedule_summary?.includes(zone) ? <span className="small muted"> {zone}</span> : null}
        </span>
      ) : (
        <span className="muted">{row.active ? 'no next run' : 'inactive'}</span>
      )}
      {row.schedule_summary ? <span className="small muted">{row.schedule_summary}</span> : null}
      {row.missed_fires ? (
        <span className="pill pill-warn" data-testid="missed-fires" title="Fire times missed while weft was down">
          {row.missed_fires} missed
        </span>
      ) : null}
    </div>
  );
}

function NameCell({ row, onSaved, canEdit }: { row: FlowRow; onSaved: (r: Partial<FlowRow>) => void; canEdit: boolean }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(row.name);
  const [desc, setDesc] = useState(row.description ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const toast = useToast();

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const full = await flows.get(row.id);
      const saved = await flows.save(row.id, { ...toDocument(full), name: name.trim(), description: desc }, full.version);
      onSaved({ name: saved.name, description: saved.description, version: saved.version });
      setEditing(false);
      toast('Saved', 'success');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (editing) {
    return (
      <form className="inline-edit" onSubmit={save} onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}>
        <input aria-label="Flow name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        <input aria-label="Flow description" placeholder="Description" value={desc} onChange={(e) => setDesc(e.target.value)} />
        <div className="row gap-s">
          <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
            {busy ? <Spinner /> : null} Save
          </button>
          <button type="button" className="btn btn-small" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </div>
        {error ? (
          <div className="field-error" role="alert">
            {error}
          </div>
        ) : null}
      </form>
    );
  }
  return (
    <div className="name-cell">
      <div className="row gap-s">
        <Link to={`/flows/${row.id}`} className="flow-name">
          {row.name}
        </Link>
        {canEdit ? (
          <button
            type="button"
            className="icon-btn icon-btn-small pencil"
            aria-label={`Rename ${row.name}`}
            title="Edit name and description"
            onClick={() => {
              setName(row.name);
              setDesc(row.description ?? '');
              setEditing(true);
            }}
          >
            <Icon name="pencil" size={14} />
          </button>
        ) : null}
      </div>
      {row.description ? <div className="small muted desc">{row.description}</div> : null}
      <div className="small muted">Version {row.version}</div>
    </div>
  );
}

export function FlowListPage() {
  useDocumentTitle('Flows');
  const navigate = useNavigate();
  const toast = useToast();
  const canEdit = useCanEdit();
  const list = useAsync((s) => flows.list(s), []);
  const conns = useConnections();
  const [q, setQ] = useState('');
  const [trigger, setTrigger] = useState('');
  const [active, setActive] = useState('');
  const [busyToggle, setBusyToggle] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<FlowRow | null>(null);
  const [running, setRunning] = useState<FlowRow | null>(null);
  const [importing, setImporting] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);

  // Keep last-run status and next run times current while the page is open and visible.
  useEffect(() => {
    const t = setInterval(() => document.visibilityState === 'visible' && list.reload(), 15000);
    return () => clearInterval(t);
  }, [list.reload]);

  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return (list.data ?? [])
      .filter((r) => !needle || r.name.toLowerCase().includes(needle))
      .filter((r) => !trigger || r.trigger_type === trigger)
      .filter((r) => !active || (active === 'active') === r.active)
      .sort((a, b) => a.name.localeCompare(b.name));
  }, [list.data, q, trigger, active]);

  const patchRow = (id: string, p: Partial<FlowRow>) =>
    list.setData((prev) => prev?.map((r) => (r.id === id ? { ...r, ...p } : r)));

  const toggle = async (row: FlowRow, on: boolean) => {
    setBusyToggle(row.id);
    patchRow(row.id, { active: on }); // optimistic; reverted below on failure
    try {
      const f = await flows.setActive(row.id, on);
      patchRow(row.id, { active: f?.active ?? on, next_run_at: f?.next_run_at ?? row.next_run_at, webhook_url: f?.webhook_url ?? row.webhook_url });
      toast(on ? `“${row.name}” is active` : `“${row.name}” is inactive`, 'success');
      if (row.trigger_type === 'schedule') list.reload();
    } catch (e) {
      patchRow(row.id, { active: !on });
      toast(`Could not ${on ? 'activate' : 'deactivate'} “${row.name}”: ${errorMessage(e)}`, 'error');
    } finally {
      setBusyToggle(null);
    }
  };

  const exportYaml = async (row: FlowRow) => {
    try {
      const text = await flows.exportText(row.id, 'yaml');
      const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${row.name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'flow'}.yaml`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      toast(`Export failed: ${errorMessage(e)}`, 'error');
    }
  };

  const clone = async (row: FlowRow) => {
    try {
      const f = await flows.clone(row.id);
      toast(`Cloned as “${f.name}” (inactive)`, 'success');
      list.reload();
    } catch (e) {
      toast(`Clone failed: ${errorMessage(e)}`, 'error');
    }
  };

  const onImport = async (file: File) => {
    setImporting(true);
    try {
      const text = await file.text();
      const f = await flows.import(text, file.name);
      toast(`Imported “${f.name}” (inactive)`, 'success');
      list.reload();
    } catch (e) {
      toast(`Import failed: ${errorMessage(e)}`, 'error');
    } finally {
      setImporting(false);
      if (fileRef.current) fileRef.current.value = '';
    }
  };

  const connectorOfConnection = (name: string) => conns.list.find((c) => c.name === name)?.connector;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Flows</h1>
        <div className="row gap-s">
          {canEdit ? (
            <>
              <input
                ref={fileRef}
                type="file"
                accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
                className="sr-only"
                id="import-file"
                data-testid="import-file"
                onChange={(e) => e.target.files?.[0] && onImport(e.target.files[0])}
              />
              <button type="button" className="btn" onClick={() => fileRef.current?.click()} disabled={importing}>
                {importing ? <Spinner /> : <Icon name="upload" />} Import
              </button>
              <Link to="/flows/new" className="btn btn-primary" data-testid="new-flow">
                <Icon name="plus" /> New flow
              </Link>
            </>
          ) : null}
        </div>
      </div>

      <div className="toolbar" role="search">
        <div className="search-box">
          <Icon name="search" />
          <input type="search" placeholder="Search flows by name" aria-label="Search flows" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <label className="inline-label">
          Trigger
          <select aria-label="Filter by trigger" value={trigger} onChange={(e) => setTrigger(e.target.value)}>
            <option value="">All</option>
            <option value="manual">Manual</option>
            <option value="webhook">Webhook</option>
            <option value="schedule">Schedule</option>
            <option value="poll">New data</option>
          </select>
        </label>
        <label className="inline-label">
          State
          <select aria-label="Filter by state" value={active} onChange={(e) => setActive(e.target.value)}>
            <option value="">All</option>
            <option value="active">Active</option>
            <option value="inactive">Inactive</option>
          </select>
        </label>
      </div>

      {list.loading && !list.data ? (
        <Loading what="Loading flows…" />
      ) : list.error ? (
        <ErrorBox error={list.error} onRetry={list.reload} />
      ) : !list.data?.length ? (
        <Empty icon="branch">
          <p>
            <strong>No flows yet.</strong>
          </p>
          <p className="muted">A flow is a trigger followed by steps. Start with a webhook, a schedule, or the Run button.</p>
          {canEdit ? (
            <Link to="/flows/new" className="btn btn-primary">
              <Icon name="plus" /> New flow
            </Link>
          ) : null}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table flow-table" data-testid="flow-table">
            <thead>
              <tr>
                <th>Flow Name</th>
                <th>Connections</th>
                <th>Scheduled</th>
                <th>Last run</th>
                <th>Active</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} data-testid="flow-row" data-flow-id={row.id} data-flow-name={row.name}>
                  <td data-label="Flow Name">
                    <NameCell row={row} canEdit={canEdit} onSaved={(p) => patchRow(row.id, p)} />
                  </td>
                  <td data-label="Connections">
                    <div className="conn-icons">
                      {(row.connections ?? []).length === 0 ? <span className="muted">—</span> : null}
                      {(row.connections ?? []).map((c, i) => {
                        const name = typeof c === 'string' ? c : c.name;
                        const connector = (typeof c === 'string' ? undefined : c.connector) ?? connectorOfConnection(name) ?? name;
                        return (
                           <span key={`${name}:${i}`} className="conn-icon" title={`${name} (${connector})`}>
                            <ConnectorIcon name={connector} size={18} title={`${name} (${connector})`} />
                          </span>
                        );
                      })}
                    </div>
                  </td>
                  <td data-label="Scheduled">
                    <ScheduledCell row={row} />
                  </td>
                  <td data-label="Last run">
                    {row.last_run ? (
                      <Link to={`/runs/${row.last_run.id}`} className="lastrun" title={fmtDateTime(row.last_run.finished_at)}>
                        <StatusBadge status={row.last_run.status} small />
                        <span className="small muted">{fmtRelative(row.last_run.finished_at)}</span>
                      </Link>
                    ) : (
                      <span className="muted small">never run</span>
                    )}
                  </td>
                  <td data-label="Active">
                    <Toggle
                      checked={row.active}
                      label={`Active: ${row.name}`}
                      busy={busyToggle === row.id}
                      disabled={!canEdit}
                      onChange={(v) => toggle(row, v)}
                      testId="flow-active-toggle"
                    />
                  </td>
                  <td className="cell-actions">
                    <Menu
                      label={`Actions for ${row.name}`}
                      testId="flow-gear"
                      items={[
                        { label: 'Edit', icon: 'pencil', onSelect: () => navigate(`/flows/${row.id}`) },
                        { label: 'Export YAML', icon: 'download', onSelect: () => exportYaml(row) },
                        { label: 'Clone', icon: 'clone', onSelect: () => clone(row), disabled: !canEdit },
                        { label: 'Run', icon: 'play', onSelect: () => setRunning(row), disabled: !canEdit },
                        { label: 'Process Log', icon: 'list', onSelect: () => navigate(`/runs?flow_id=${encodeURIComponent(row.id)}`) },
                        { label: 'Delete', icon: 'trash', danger: true, onSelect: () => setConfirmDelete(row), disabled: !canEdit },
                      ]}
                    />
                  </td>
                </tr>
              ))}
              {!rows.length ? (
                <tr>
                  <td colSpan={6} className="muted center">
                    No flow matches these filters.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      )}

      {confirmDelete ? (
        <ConfirmDialog
          title="Delete flow"
          message={
            <p>
              Delete <strong>{confirmDelete.name}</strong> and its version history? Its webhook URL and schedule stop at once. This cannot
              be undone.
            </p>
          }
          onConfirm={async () => {
            await flows.remove(confirmDelete.id);
            list.setData((prev) => prev?.filter((r) => r.id !== confirmDelete.id));
            toast(`Deleted “${confirmDelete.name}”`, 'success');
          }}
          onClose={() => setConfirmDelete(null)}
        />
      ) : null}
      {running ? (
        <RunDialog
          flowId={running.id}
          flowName={running.name}
          triggerType={running.trigger_type}
          onClose={() => {
            setRunning(null);
            list.reload();
          }}
        />
      ) : null}
    </div>
  );
}
