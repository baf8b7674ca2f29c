// Follow-ups after real alarms, and the sites installers submitted for the central to review:
// register (contacts get their letters) or reject with a reason the installer reads.
import { api, refusal, useList } from '../lib/api.js';
import { html, useState } from '../lib/html.js';
import { dateTimeOf } from '../lib/time.js';
import { eventWords } from '../lib/words.js';

export function FollowUpsView() {
  const [list, load] = useList('/api/follow-ups', 'followUps');
  const done = async (e, id) => {
    e.preventDefault();
    const r = await api('POST', `/api/follow-ups/${id}/done`, {
      text: new FormData(e.currentTarget).get('text') || 'contacted',
    });
    if (r.ok) load();
  };
  return html`<section id="follow-ups" class="card">
    <h2>Follow-ups</h2>
    <table aria-label="Follow-ups"><thead><tr><th>Due</th><th>Site</th><th>Alarm</th><th>Customer says</th><th>Done</th></tr></thead>
      <tbody id="follow-up-rows">${(list ?? []).map(
        (f) => html`<tr key=${f.id}>
        <td>${dateTimeOf(f.dueAt)}</td><td>${f.siteName} (${f.siteId})</td><td>${eventWords(f.eventType)}</td><td>${f.reply ?? '—'}</td>
        <td><form class="row" onSubmit=${(e) => done(e, f.id)}><input name="text" placeholder="What was agreed" aria-label=${`Follow-up note ${f.id}`} /><button type="submit" class="btn small">Done</button></form></td>
      </tr>`,
      )}</tbody>
    </table>
    ${list && list.length === 0 ? html`<p class="muted">No follow-ups due.</p>` : null}
  </section>`;
}

function Submission({ x, onDone }) {
  const [open, setOpen] = useState(false);
  const [letters, setLetters] = useState(null);
  const [error, setError] = useState('');
  const register = async () => {
    const r = await api('POST', `/api/sites/${x.id}/register`);
    if (r.ok) setLetters(r.body.letters);
    else setError(refusal(r));
  };
  const reject = async (e) => {
    e.preventDefault();
    const r = await api('POST', `/api/sites/${x.id}/reject`, {
      reason: new FormData(e.currentTarget).get('reason'),
    });
    if (r.ok) onDone();
    else setError(refusal(r));
  };
  return html`<article class="card submission" aria-label=${`Submission ${x.id}`}>
    <div class="row spread">
      <div><strong>${x.name} (${x.id})</strong> · ${x.address} · ${x.kind}<div class="muted">submitted ${dateTimeOf(x.submittedAt)} by ${x.installer ?? '—'} · gateway ${x.gatewayId ?? '—'}</div></div>
      <button type="button" class="btn small" aria-expanded=${String(open)} onClick=${() => setOpen(!open)}>${open ? 'Hide' : 'Review'} ${x.devices.length} devices, ${x.contacts.length} contacts</button>
    </div>
    ${
      open
        ? html`<div class="review">
          <table aria-label=${`Devices of ${x.id}`}><thead><tr><th>Zone</th><th>Device</th><th>Type</th><th>Area</th><th>Bus</th></tr></thead>
            <tbody>${x.devices.map((d) => html`<tr key=${d.id}><td>${d.zone}</td><td>${d.name}</td><td>${d.type}</td><td>${d.area ?? 1}</td><td>${d.bus ?? '—'}</td></tr>`)}</tbody></table>
          <table aria-label=${`Contacts of ${x.id}`}><thead><tr><th>Name</th><th>Role</th><th>Phone</th><th>Mobile</th></tr></thead>
            <tbody>${x.contacts.map((c, i) => html`<tr key=${i}><td>${c.name}</td><td>${c.role}</td><td>${c.phone ?? '—'}</td><td>${c.mobile ?? '—'}</td></tr>`)}</tbody></table>
        </div>`
        : null
    }
    ${
      letters
        ? html`<div role="status" id="letters"><strong>${x.id} registered. Send these letters (shown once):</strong>${letters.map((l, i) => html`<div key=${i}>${l.name} (${l.role}): ID code ${l.idCode}, first PIN ${l.defaultPin}</div>`)}
          <button type="button" class="btn small" onClick=${onDone}>Letters sent</button></div>`
        : html`<div class="row">
          <button type="button" class="btn primary" onClick=${register}>Register ${x.id}</button>
          <form class="row" aria-label=${`Reject ${x.id}`} onSubmit=${reject}>
            <input name="reason" aria-label="Reason for rejecting" placeholder="What the installer must fix" required size="34" />
            <button type="submit" class="btn danger">Reject</button>
          </form>
        </div>`
    }
    ${error ? html`<div class="error" role="alert">${error}</div>` : null}
  </article>`;
}

export function SubmissionsView() {
  const [list, load] = useList('/api/submissions', 'submissions');
  return html`<section id="submissions">
    <h2>Sites to register</h2>
    ${list && list.length === 0 ? html`<p class="muted">No submissions waiting.</p>` : null}
    ${(list ?? []).map((x) => html`<${Submission} key=${x.id} x=${x} onDone=${load} />`)}
  </section>`;
}
