// Who is signed in (GET /me), sign-in state, and the redirect to /login on 401.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { ApiError, auth, onUnauthorized, setCsrfToken, type Me } from '../api';

export interface Session {
  /** 'loading' until /me answered; 'unreachable' when the server is down. */
  state: 'loading' | 'signed-in' | 'signed-out' | 'unreachable';
  me: Me | null;
  username: string | null;
  role: 'viewer' | 'editor' | 'admin';
  /** No user exists: weft serves loopback only and asks for no login. */
  open: boolean;
  error: unknown;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const Ctx = createContext<Session | null>(null);

/** Reads the shapes /me may take: `{username, role, open}` or `{user:{...}, open}`. */
export function normalizeMe(me: Me | null) {
  const m = (me ?? {}) as Record<string, unknown>;
  const user = (m.user && typeof m.user === 'object' ? m.user : m) as Record<string, unknown>;
  const open =
    m.open === true ||
    m.mode === 'open' ||
    m.auth === 'none' ||
    m.users_exist === false ||
    m.no_users === true ||
    m.users === 0;
  const username = (user.username ?? user.name ?? null) as string | null;
  const role = ((user.role ?? m.role ?? (open ? 'admin' : 'viewer')) as Session['role']) || 'viewer';
  return { open, username, role };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<Session['state']>('loading');
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<unknown>(null);
  const navigate = useNavigate();
  const location = useLocation();

  const refresh = useCallback(async () => {
    try {
      const m = await auth.me();
      if (m && typeof m.csrf_token === 'string' && m.csrf_token) setCsrfToken(m.csrf_token);
      setMe(m ?? {});
      setError(null);
      setState('signed-in');
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.status === 401) setState('signed-out');
      else if (e instanceof ApiError && e.status === 404) {
        // A server without /me: treat as open.
        setMe({ open: true });
        setState('signed-in');
      } else setState('unreachable');
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    onUnauthorized(() => {
      setState('signed-out');
      setMe(null);
    });
    return () => onUnauthorized(null);
  }, []);

  // Any page reached while signed out goes to the sign-in page, remembering where it was.
  useEffect(() => {
    if (state === 'signed-out' && location.pathname !== '/login') {
      const next = location.pathname + location.search;
      navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    }
  }, [state, location.pathname, location.search, navigate]);

  const signOut = useCallback(async () => {
    try {
      await auth.logout();
    } catch {
      /* signed out locally either way */
    }
    setMe(null);
    setState('signed-out');
  }, []);

  const value = useMemo<Session>(() => {
    const n = normalizeMe(me);
    return { state, me, username: n.username, role: n.role, open: n.open, error, refresh, signOut };
  }, [state, me, error, refresh, signOut]);

  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside AuthProvider');
  return s;
}

/** Whether the signed-in role may change things (editor or admin). */
export function useCanEdit(): boolean {
  const s = useSession();
  return s.open || s.role === 'editor' || s.role === 'admin';
}
