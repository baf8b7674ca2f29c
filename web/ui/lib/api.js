// The JSON API with the session's CSRF token. A 401 ends the session on the page (back to its login);
// a network failure is answered like a refusal, in words, never thrown at the component.
import { useEffect, useState } from './html.js';

const session = { csrf: '', onExpired: () => {} };

export function setSession(csrf, onExpired) {
  session.csrf = csrf;
  if (onExpired) session.onExpired = onExpired;
}

export async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        'x-csrf-token': session.csrf,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return {
      ok: false,
      status: 0,
      body: { error: 'The central cannot be reached. Check the connection and try again.' },
    };
  }
  const json = response.headers.get('content-type')?.includes('json') ? await response.json() : {};
  if (response.status === 401 && path !== '/api/session') session.onExpired();
  return { ok: response.ok, status: response.status, body: json };
}

/** What a refused request says, in words for the person in front of the page. */
export function refusal(result) {
  // A field's name before its reason ("newPin: 4 to 8 digits") is for the API's users: the form the
  // person filled in already says which field it is.
  if (result.body?.error)
    return sentence(
      String(result.body.error)
        .split('; ')
        .map((part) => part.replace(/^[\w.[\]]+: /, ''))
        .join('; '),
    );
  if (result.status === 403) return 'You are not allowed to do this.';
  if (result.status === 429) return 'Too many attempts: wait a minute and try again.';
  return `Not done (the central answered ${result.status}).`;
}

const sentence = (text) => {
  const s = String(text);
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
};

/** A list a page shows from the API, and reloads after a change: `[items (null until loaded), reload]`. */
export function useList(path, field) {
  const [items, setItems] = useState(null);
  const reload = async () => {
    const r = await api('GET', path);
    if (r.ok) setItems(r.body[field]);
  };
  useEffect(() => {
    reload();
  }, [path]);
  return [items, reload];
}
