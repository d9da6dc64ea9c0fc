// Sign-in: POST /auth/login {username, password} → the session cookie
// (HttpOnly) and {csrf_token}, sent back as X-CSRF-Token on every change; then
// back to the page that asked (?next=). With no user defined there is nothing
// to sign in to: straight on.
import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { auth, errorMessage } from '../api';
import { useSession } from '../components/Auth';
import { Spinner } from '../components/ui';
import { useDocumentTitle } from '../lib/hooks';

export function LoginPage() {
  useDocumentTitle('Sign in');
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const session = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const next = params.get('next');
  const target = next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
  // Nothing to sign in to (no user exists: open mode), or signed in already.
  useEffect(() => {
    if (session.state === 'signed-in') navigate(target, { replace: true });
  }, [session.state, navigate, target]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.login(username, password);
      await session.refresh();
      navigate(target, { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <div className="login-wrap">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand-big">
          <img src="/favicon.svg" alt="" width={32} height={32} />
          <span>weft</span>
        </div>
        <h1 id="login-title">Sign in</h1>
        <div className="field">
          <label className="field-label" htmlFor="login-username">
            Username
          </label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </div>
        <div className="field">
          <label className="field-label" htmlFor="login-password">
            Password
          </label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {error ? (
          <div className="field-error" role="alert" data-testid="login-error">
            {error}
          </div>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? <Spinner label="Signing in" /> : null} Sign in
        </button>
      </form>
    </div>
  );
}
