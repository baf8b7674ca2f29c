// Logging in and out of the central's pages (console, portals): the session cookie is HttpOnly; the
// page keeps only the CSRF token the login answered with.
import { api, refusal, setSession } from './api.js';
import { html, useEffect, useState } from './html.js';

/** The logged-in account (undefined while checking, null when logged out), and the login/out cycle. */
export function useSession(roles, wrongRole) {
  const [me, setMe] = useState(undefined);
  const [message, setMessage] = useState('');
  const out = (text = '') => {
    setMessage(text);
    setMe(null);
  };
  const enter = (account, csrf) => {
    if (!roles.includes(account.role)) return out(wrongRole);
    setSession(csrf, () => out('Your session ended: log in again.'));
    setMe(account);
    return undefined;
  };
  useEffect(() => {
    api('GET', '/api/me').then((r) => (r.ok ? enter(r.body.operator, r.body.csrfToken) : out()));
  }, []);
  const logout = async () => {
    await api('DELETE', '/api/session');
    out();
  };
  return { me, message, enter, logout };
}

export function Login({ title, onIn, message, onSubmitStart }) {
  const [error, setError] = useState(message);
  useEffect(() => setError(message), [message]);
  const submit = async (e) => {
    e.preventDefault();
    onSubmitStart?.();
    const form = e.currentTarget;
    const f = new FormData(form);
    const r = await api('POST', '/api/session', { username: f.get('username'), password: f.get('password') });
    form.elements.password.value = '';
    if (!r.ok) return setError(refusal(r));
    onIn(r.body.operator, r.body.csrfToken);
    return undefined;
  };
  return html`<form id="login" onSubmit=${submit}>
    <h2>${title}</h2>
    <label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus />
    <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required />
    <div id="login-error" role="alert">${error}</div>
    <button type="submit" class="btn primary">Log in</button>
  </form>`;
}
