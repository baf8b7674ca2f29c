// Shared by the console and the portals: DOM building, the JSON API with the session's CSRF token,
// and the login / logout cycle. Served as /assets/common.js (an ES module, same origin).

export const $ = (id) => document.getElementById(id);

/** Build an element: `class`, `dataset`, `on…` listeners and attributes; children may be nested arrays. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false)
      node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

const session = { csrf: '', onExpired: () => {} };

/** A JSON request with the session's CSRF token; a 401 sends the page back to its login form. */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      'x-csrf-token': session.csrf,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = response.headers.get('content-type')?.includes('json') ? await response.json() : {};
  if (response.status === 401 && path !== '/api/session') session.onExpired();
  return { ok: response.ok, status: response.status, body: json };
}

/**
 * The login cycle of a page for some roles: `#login` (with `#username`, `#password`,
 * `#login-error`) and `#logout`. `onIn(account)` shows the page; `onOut()` hides it.
 */
export async function startSession({ roles, wrongRole, onIn, onOut }) {
  const showLogin = (message = '') => {
    onOut();
    $('login').hidden = false;
    $('logout').hidden = true;
    $('login-error').textContent = message;
    $('username').focus();
  };
  const enter = (account, csrfToken) => {
    if (!roles.includes(account.role)) {
      showLogin(wrongRole);
      return;
    }
    session.csrf = csrfToken;
    $('login').hidden = true;
    $('logout').hidden = false;
    onIn(account);
  };
  session.onExpired = () => showLogin('Your session ended: log in again.');
  $('login').addEventListener('submit', async (event) => {
    event.preventDefault();
    const { ok, body } = await api('POST', '/api/session', {
      username: $('username').value,
      password: $('password').value,
    });
    $('password').value = '';
    if (!ok) {
      $('login-error').textContent = body.error;
      return;
    }
    $('login-error').textContent = '';
    enter(body.operator, body.csrfToken);
  });
  $('logout').addEventListener('click', async () => {
    await api('DELETE', '/api/session');
    showLogin();
  });
  const me = await api('GET', '/api/me');
  if (me.ok) enter(me.body.operator, me.body.csrfToken);
  else showLogin();
}
