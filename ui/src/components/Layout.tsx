// The frame around every page: header with navigation, the signed-in user
// and Sign out, and the open-mode note.
import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { useSession } from './Auth';
import { Icon } from './icons';
import { ErrorBox, Loading } from './ui';

export function Layout() {
  const s = useSession();
  const navigate = useNavigate();
  const nav = [
    { to: '/', label: 'Flows', end: true },
    { to: '/connections', label: 'Connections' },
    { to: '/connectors', label: 'Connectors' },
    { to: '/runs', label: 'Process Log' },
    { to: '/webhooks', label: 'Webhooks' },
  ];
  if (s.open || s.role === 'admin') nav.push({ to: '/settings', label: 'Settings' });

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="weft home">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span>weft</span>
        </NavLink>
        <nav className="mainnav" aria-label="Main">
          {nav.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.end} className={({ isActive }) => (isActive ? 'active' : '')}>
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div className="topbar-right">
          {s.open ? (
            <span className="open-note" data-testid="open-mode-note" title="No users are defined: weft answers only on this machine and asks for no login.">
              <Icon name="lock" size={14} /> weft is open to this machine only
            </span>
          ) : s.username ? (
            <>
              <span className="whoami" data-testid="current-user">
                <Icon name="user" size={14} /> {s.username}
                <span className="muted small"> · {s.role}</span>
              </span>
              <button
                type="button"
                className="btn btn-ghost btn-small"
                onClick={async () => {
                  await s.signOut();
                  navigate('/login');
                }}
              >
                <Icon name="logout" size={14} /> Sign out
              </button>
            </>
          ) : null}
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {s.state === 'loading' ? (
          <Loading what="Connecting to weft…" />
        ) : s.state === 'unreachable' ? (
          <div className="page">
            <ErrorBox error={s.error} onRetry={() => void s.refresh()} title="Cannot reach the weft server" />
          </div>
        ) : (
          <Outlet />
        )}
      </main>
    </div>
  );
}
