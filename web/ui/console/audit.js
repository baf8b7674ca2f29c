// The audit trail for a supervisor: who did what to which subject, filtered by actor, subject text,
// action and dates, details in words; older pages on request.
import { api, refusal } from '../lib/api.js';
import { html, useEffect, useRef, useState } from '../lib/html.js';
import { dateTimeOf } from '../lib/time.js';
import { actorWords, auditWords, detailWords } from '../lib/words.js';

const ACTIONS = [
  ['', 'Any action'],
  ['login', 'Logins'],
  ['alarm.', 'Incident claims'],
  ['camera.', 'Camera access'],
  ['media.', 'Pictures held or deleted'],
  ['code-check', 'ID code checks'],
  ['pin-change', 'PIN changes'],
  ['contact.', 'Contacts'],
  ['site.', 'Site records'],
  ['test-mode', 'Test mode'],
  ['installer-access', 'Installer windows'],
  ['account.', 'Accounts'],
];

export function AuditView() {
  const [entries, setEntries] = useState([]);
  const [more, setMore] = useState(false);
  const [filters, setFilters] = useState(null);
  const [error, setError] = useState('');
  const [shown, setShown] = useState('');
  const latest = useRef(0);
  const load = async (f, before) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(f)) if (value) params.set(key, value);
    if (before) params.set('before', before);
    // Only the latest request's answer is shown: an earlier, slower one never overwrites it.
    const request = ++latest.current;
    const r = await api('GET', `/api/audit?${params}`);
    if (request !== latest.current) return undefined;
    if (!r.ok) return setError(refusal(r));
    setError('');
    setEntries((old) => (before ? [...old, ...r.body.entries] : r.body.entries));
    setMore(r.body.entries.length === r.body.limit);
    const action = ACTIONS.find(([value]) => value === (f.action ?? ''))?.[1] ?? f.action;
    setShown(
      `Showing ${f.action ? action.toLowerCase() : 'every action'}${f.actor ? ` by ${f.actor}` : ''}${f.subject ? ` on ${f.subject}` : ''}.`,
    );
    return undefined;
  };
  useEffect(() => {
    load({});
  }, []);
  const submit = (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget));
    if (f.from) f.from = new Date(f.from).toISOString();
    if (f.to) f.to = new Date(f.to).toISOString();
    setFilters(f);
    load(f);
  };
  return html`<section id="audit" class="card">
    <h2>Audit trail</h2>
    <form class="row filters" aria-label="Audit filters" onSubmit=${submit}>
      <label>Who <input name="actor" placeholder="username" size="12" /></label>
      <label>Subject <input id="audit-subject" name="subject" placeholder="site, alarm, account…" size="16" /></label>
      <label>Action <select name="action" aria-label="Action">${ACTIONS.map(([v, t]) => html`<option value=${v}>${t}</option>`)}</select></label>
      <label>From <input type="datetime-local" name="from" /></label>
      <label>To <input type="datetime-local" name="to" /></label>
      <button type="submit" class="btn primary">Show</button>
    </form>
    ${error ? html`<div class="error" role="alert">${error}</div>` : null}
    <div class="muted" role="status" id="audit-shown">${shown}</div>
    <table aria-label="Audit trail"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Subject</th><th>Details</th></tr></thead>
      <tbody id="audit-rows">${entries.map(
        (x) => html`<tr key=${x.id}>
        <td class="nowrap">${dateTimeOf(x.at)}</td><td>${actorWords(x.actor)}</td><td title=${x.action}>${auditWords(x.action)}</td><td>${x.subject ?? '—'}</td>
        <td><dl class="details">${detailWords(x.detail).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl></td></tr>`,
      )}</tbody></table>
    ${entries.length === 0 ? html`<p class="muted">Nothing matches.</p>` : null}
    ${more ? html`<button type="button" class="btn" onClick=${() => load(filters ?? {}, entries.at(-1).id)}>Older entries</button>` : null}
  </section>`;
}
