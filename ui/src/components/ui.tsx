// Small building blocks used on every page: loading and error states,
// status badges, toggles, menus, dialogs, copy buttons.
import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type KeyboardEvent as ReactKeyboardEvent,
  type ReactNode,
} from 'react';
import { createPortal } from 'react-dom';
import { ApiError, errorMessage } from '../api';
import { Icon } from './icons';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return (
    <div className="loading" data-testid="loading">
      <Spinner /> <span>{what}</span>
    </div>
  );
}

/** Shows a failed request: the server's message, or that it cannot be reached. */
export function ErrorBox({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const api = error instanceof ApiError ? error : null;
  return (
    <div className="error-box" role="alert" data-testid="error-box">
      <Icon name={api?.isNetwork ? 'server' : 'alert'} size={18} />
      <div className="error-box-text">
        <strong>{title ?? (api?.isNetwork ? 'Server unreachable' : 'Something went wrong')}</strong>
        <span>{errorMessage(error)}</span>
        {api && !api.isNetwork && api.code ? <code className="muted small">{api.code}</code> : null}
        {api?.details?.length ? (
          <ul className="error-details">
            {api.details.map((d, i) => (
              <li key={i}>
                {d.path ? <code>{d.path}</code> : null} {d.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {onRetry ? (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ children, icon = 'info' }: { children: ReactNode; icon?: string }) {
  return (
    <div className="empty">
      <Icon name={icon} size={28} />
      <div>{children}</div>
    </div>
  );
}

export function StatusBadge({ status, small }: { status?: string | null; small?: boolean }) {
  if (!status) return <span className="muted">—</span>;
  return (
    <span className={`badge status-${status}${small ? ' badge-small' : ''}`} data-status={status}>
      {status === 'running' ? <span className="pulse" aria-hidden /> : null}
      {status}
    </span>
  );
}

export function Toggle({
  checked,
  onChange,
  label,
  disabled,
  busy,
  showLabel,
  testId,
}: {
  checked: boolean;
  onChange: (v: boolean) => void;
  label: string;
  disabled?: boolean;
  busy?: boolean;
  showLabel?: boolean;
  testId?: string;
}) {
  return (
    <label className={`toggle${disabled || busy ? ' toggle-disabled' : ''}`}>
      <input
        type="checkbox"
        role="switch"
        checked={checked}
        aria-checked={checked}
        aria-label={label}
        disabled={disabled}
        aria-busy={busy || undefined}
        data-testid={testId}
        onChange={(e) => !busy && onChange(e.target.checked)}
      />
      <span className="toggle-track" aria-hidden>
        <span className="toggle-thumb" />
      </span>
      {showLabel ? <span className="toggle-label">{label}</span> : null}
    </label>
  );
}

export interface MenuItem {
  label: string;
  icon?: string;
  onSelect: () => void;
  danger?: boolean;
  disabled?: boolean;
  href?: string;
}

/** A button that opens a list of actions (the "gear" menu). Arrow keys move, Esc closes. */
export function Menu({
  label,
  items,
  icon = 'gear',
  testId,
}: {
  label: string;
  items: MenuItem[];
  icon?: string;
  testId?: string;
}) {
  const [open, setOpen] = useState(false);
  const [pos, setPos] = useState<{ top: number; left: number } | null>(null);
  const btn = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const id = useId();

  useLayoutEffect(() => {
    if (!open || !btn.current) {
      setPos(null);
      return;
    }
    const r = btn.current.getBoundingClientRect();
    const width = 200;
    const estHeight = items.length * 36 + 12;
    const top = r.bottom + estHeight > window.innerHeight ? Math.max(8, r.top - estHeight - 4) : r.bottom + 4;
    setPos({ top: top + window.scrollY, left: Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8)) + window.scrollX });
  }, [open, items.length]);

  useEffect(() => {
    if (!open || !pos) return;
    const first = list.current?.querySelector<HTMLButtonElement>('[role=menuitem]:not([disabled])');
    first?.focus();
    const onDoc = (e: MouseEvent) => {
      if (!list.current?.contains(e.target as Node) && !btn.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [open, pos]);

  const onKey = (e: ReactKeyboardEvent) => {
    const els = Array.from(list.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]:not([disabled])') ?? []);
    const i = els.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      els[(i + 1) % els.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      els[(i - 1 + els.length) % els.length]?.focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      setOpen(false);
      btn.current?.focus();
    }
  };

  return (
    <>
      <button
        ref={btn}
        type="button"
        className="icon-btn"
        aria-label={label}
        title={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        data-testid={testId}
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name={icon} size={18} />
      </button>
      {open && pos
        ? createPortal(
            <div
              ref={list}
              id={id}
              role="menu"
              aria-label={label}
              className="menu"
              style={{ top: pos.top, left: pos.left }}
              onKeyDown={onKey}
            >
              {items.map((it) => (
                <button
                  key={it.label}
                  type="button"
                  role="menuitem"
                  className={`menu-item${it.danger ? ' danger' : ''}`}
                  disabled={it.disabled}
                  onClick={() => {
                    setOpen(false);
                    it.onSelect();
                  }}
                >
                  {it.icon ? <Icon name={it.icon} /> : <span className="icon" />}
                  {it.label}
                </button>
              ))}
            </div>,
            document.body,
          )
        : null}
    </>
  );
}

const openModals: string[] = [];

/** A modal dialog: focus moves in, Esc closes, focus returns to the opener. */
export function Modal({
  title,
  onClose,
  children,
  footer,
  wide,
  testId,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  testId?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  // Esc closes the topmost dialog even when focus has left it (e.g. its focused field became disabled).
  useEffect(() => {
    openModals.push(titleId);
    const onDocKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || openModals[openModals.length - 1] !== titleId) return;
      if (ref.current?.contains(document.activeElement)) return; // handled by onKeyDown below
      closeRef.current();
    };
    document.addEventListener('keydown', onDocKey);
    return () => {
      document.removeEventListener('keydown', onDocKey);
      const i = openModals.lastIndexOf(titleId);
      if (i >= 0) openModals.splice(i, 1);
    };
  }, [titleId]);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const focusable = el?.querySelector<HTMLElement>(
      '[autofocus], input:not([type=hidden]), select, textarea, button:not(.modal-close)',
    );
    (focusable ?? el)?.focus();
    return () => prev?.focus?.();
  }, []);
  const onKey = (e: ReactKeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onClose();
    }
    if (e.key === 'Tab' && ref.current) {
      const f = Array.from(
        ref.current.querySelectorAll<HTMLElement>('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])'),
      ).filter((x) => !x.hasAttribute('disabled'));
      if (!f.length) return;
      const first = f[0];
      const last = f[f.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };
  return createPortal(
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        className={`modal${wide ? ' modal-wide' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKey}
        data-testid={testId}
      >
        <div className="modal-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="icon-btn modal-close" aria-label="Close" onClick={onClose}>
            <Icon name="x" />
          </button>
        </div>
        <div className="modal-body">{children}</div>
        {footer ? <div className="modal-foot">{footer}</div> : null}
      </div>
    </div>,
    document.body,
  );
}

/** Asks before doing something that cannot be undone. Shows the server's error if it fails. */
export function ConfirmDialog({
  title,
  message,
  confirmLabel = 'Delete',
  danger = true,
  onConfirm,
  onClose,
}: {
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown> | void;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal
      title={title}
      onClose={onClose}
      testId="confirm-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await onConfirm();
                onClose();
              } catch (e) {
                setError(e);
                setBusy(false);
              }
            }}
          >
            {busy ? <Spinner /> : null} {confirmLabel}
          </button>
        </>
      }
    >
      <div>{message}</div>
      {error ? <ErrorBox error={error} title="Could not complete" /> : null}
    </Modal>
  );
}

export function CopyButton({ text, label = 'Copy', testId }: { text: string; label?: string; testId?: string }) {
  const [done, setDone] = useState(false);
  useEffect(() => {
    if (!done) return;
    const t = setTimeout(() => setDone(false), 1600);
    return () => clearTimeout(t);
  }, [done]);
  return (
    <button
      type="button"
      className="btn btn-small"
      data-testid={testId}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // Clipboard API unavailable (http, old browser): fall back to a hidden textarea.
          const ta = document.createElement('textarea');
          ta.value = text;
          ta.setAttribute('readonly', '');
          ta.style.position = 'fixed';
          ta.style.opacity = '0';
          document.body.appendChild(ta);
          ta.select();
          try {
            document.execCommand('copy');
          } catch {
            /* nothing more to try */
          }
          ta.remove();
        }
        setDone(true);
      }}
    >
      <Icon name={done ? 'check' : 'copy'} /> {done ? 'Copied' : label}
    </button>
  );
}

/** A labelled form row with help text and an error line. */
export function Field({
  label,
  htmlFor,
  help,
  error,
  required,
  children,
  testId,
}: {
  label: ReactNode;
  htmlFor?: string;
  help?: ReactNode;
  error?: string | null;
  required?: boolean;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}`} data-testid={testId}>
      <label className="field-label" htmlFor={htmlFor}>
        {label}
        {required ? (
          <span className="req" aria-label="required">
            *
          </span>
        ) : null}
      </label>
      {children}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : help ? (
        <div className="field-help">{help}</div>
      ) : null}
    </div>
  );
}
