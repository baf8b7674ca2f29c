// The supervisor's board: operators online and what each holds (for how long), incidents nobody has
// taken with their ages, and take-over with a reason the operator who loses it is told.
import { api, refusal } from '../lib/api.js';
import { html, useEffect, useState } from '../lib/html.js';
import { clock, timeOf, useNow } from '../lib/time.js';
import { isWaiting } from './feed.js';

function TakeOver({ alarm, onDone }) {
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const r = await api('POST', `/api/alarms/${alarm.alarmId}/claim`, {
      takeOver: true,
      reason: new FormData(e.currentTarget).get('reason'),
    });
    if (r.ok) onDone();
    else setError(refusal(r));
  };
  return html`<form class="row" aria-label=${`Take over ${alarm.title} at ${alarm.siteName}`} onSubmit=${submit}>
    <input name="reason" aria-label="Reason for taking over" placeholder="Reason (the operator is told)" required size="24" />
    <button type="submit" class="btn small">Take over</button>
    ${error ? html`<span class="error" role="alert">${error}</span>` : null}
  </form>`;
}

export function BoardView({ feed, onAlarm }) {
  const now = useNow(true);
  const [operators, setOperators] = useState([]);
  const load = async () => {
    const r = await api('GET', '/api/board');
    if (r.ok) setOperators(r.body.operators);
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, []);
  const open = [...feed.alarms.values()];
  const held = open
    .filter((a) => a.claimedBy)
    .sort((a, b) => (a.claimedAt ?? '').localeCompare(b.claimedAt ?? ''));
  const unclaimed = open
    .filter((a) => !a.claimedBy && !isWaiting(a))
    .sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  const since = (iso) => (iso ? clock((now - Date.parse(iso)) / 1000) : '—');
  return html`<section id="board" class="board">
    <div class="card">
      <h2>Operators</h2>
      <table aria-label="Operators online"><thead><tr><th>Operator</th><th>Role</th><th>Online</th><th>Holds</th></tr></thead>
        <tbody>${operators.map(
          (o) => html`<tr key=${o.username} class=${o.online ? '' : 'offline'}>
          <td>${o.displayName}</td><td>${o.role}</td>
          <td>${o.online ? html`<span class="badge ok">online since ${timeOf(o.since)}</span>` : html`<span class="badge">offline</span>`}</td>
          <td>${held.filter((a) => a.claimedBy.username === o.username).length}</td></tr>`,
        )}</tbody></table>
    </div>
    <div class="card">
      <h2>Held incidents</h2>
      <table aria-label="Held incidents"><thead><tr><th>Incident</th><th>Site</th><th>Held by</th><th>For</th><th>Open for</th><th></th></tr></thead>
        <tbody>${held.map(
          (a) => html`<tr key=${a.alarmId} class=${`alarm ${a.class}`}>
          <td><a href="#" onClick=${(e) => {
            e.preventDefault();
            onAlarm(a.alarmId);
          }}>${a.title}</a></td><td>${a.siteName}</td>
          <td>${a.claimedBy.displayName}</td><td class="num">${since(a.claimedAt)}</td><td class="num">${since(a.openedAt)}</td>
          <td><${TakeOver} alarm=${a} onDone=${load} /></td></tr>`,
        )}</tbody></table>
      ${held.length === 0 ? html`<p class="muted">Nobody holds an incident.</p>` : null}
    </div>
    <div class="card">
      <h2>Unclaimed</h2>
      <table aria-label="Unclaimed incidents"><thead><tr><th>Incident</th><th>Site</th><th>Waiting for</th><th>Escalation</th></tr></thead>
        <tbody>${unclaimed.map(
          (a) => html`<tr key=${a.alarmId} class=${`alarm ${a.class}`}>
          <td><a href="#" onClick=${(e) => {
            e.preventDefault();
            onAlarm(a.alarmId);
          }}>${a.title}</a></td><td>${a.siteName}</td>
          <td class="num">${since(a.openedAt)}</td><td>${a.escalation ? html`<span class=${`badge escalation ${a.escalation}`}>${a.escalation}</span>` : '—'}</td></tr>`,
        )}</tbody></table>
      ${unclaimed.length === 0 ? html`<p class="muted">Every incident is taken.</p>` : null}
    </div>
  </section>`;
}
