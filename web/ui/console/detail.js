// The incident panel: what happened and where, who handles it, the next step with its buttons, the
// timeline, the caller's code check, close, notes, cameras, the site card and the trail.
import { api, refusal } from '../lib/api.js';
import { html, useState } from '../lib/html.js';
import { clock, dateTimeOf, timeOf, useNow } from '../lib/time.js';
import { actorWords, eventWords, trailWords, whereWords } from '../lib/words.js';
import { Cameras } from './cameras.js';
import { stepWords } from './queue.js';
import { SiteCard } from './site-card.js';

const CALL_OUTCOMES = [
  ['answered-invalid-code', 'Answered, no valid code', '2'],
  ['no-answer', 'No answer', '3'],
  ['busy', 'Busy', '4'],
  ['wrong-number', 'Wrong number', '5'],
];
const CLOSE_REASONS = [
  ['close-real', 'Real alarm'],
  ['close-false', 'False alarm'],
  ['close-cancelled', 'Cancelled in time'],
  ['close-technical', 'Technical cause'],
];

function Countdown({ until, prefix }) {
  const now = useNow(true);
  return html`<div class="muted">${prefix} <span class="countdown">${clock((Date.parse(until) - now) / 1000)}</span></div>`;
}

function DispatchForm({ service, label, onOutcome }) {
  const submit = (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    onOutcome(
      e.submitter?.value === 'not-dispatched'
        ? { outcome: 'not-dispatched', service, reason: f.get('reason') || undefined }
        : {
            outcome: 'dispatched',
            service,
            agency: f.get('agency') || undefined,
            reference: f.get('reference') || undefined,
          },
    );
  };
  return html`<form class="dispatch" aria-label=${`Dispatch ${service}`} onSubmit=${submit}>
    <strong>${label}</strong>
    <div class="row">
      <input name="agency" placeholder="Agency" aria-label="Agency" size="16" />
      <input name="reference" placeholder="Reference number" aria-label="Reference number" size="12" />
      <button type="submit" class="btn primary" value="dispatched">Dispatched</button>
    </div>
    <div class="row">
      <input name="reason" placeholder="or: why not dispatched" aria-label="Reason not dispatched" size="30" />
      <button type="submit" class="btn" value="not-dispatched">Not dispatched</button>
    </div>
  </form>`;
}

function NextStep({ proposal, working, onOutcome }) {
  return html`<div>
    <div class="step" id="proposal">${stepWords(proposal)}</div>
    ${proposal?.until ? html`<${Countdown} until=${proposal.until} prefix=${proposal.kind === 'call' ? 'answer time left' : 'until'} />` : null}
    ${
      working && proposal?.kind === 'call'
        ? html`<div class="row" id="call-outcomes">
          ${!proposal.startedAt ? html`<button type="button" class="btn primary" data-key="1" onClick=${() => onOutcome({ outcome: 'call-started' })}>Calling now (1)</button>` : null}
          ${CALL_OUTCOMES.map(([value, text, key]) => html`<button type="button" class="btn" data-outcome=${value} data-key=${key} onClick=${() => onOutcome({ outcome: value })}>${text} (${key})</button>`)}
        </div>
        <div class="muted">A valid code: check it below (Caller).</div>`
        : null
    }
    ${working && proposal?.kind === 'dispatch' && proposal.service ? html`<${DispatchForm} service=${proposal.service} label=${proposal.label} onOutcome=${onOutcome} />` : null}
    ${working ? (proposal?.dispatches ?? []).map((d) => html`<${DispatchForm} key=${d.service} service=${d.service} label=${d.label} onOutcome=${onOutcome} />`) : null}
    ${working && proposal?.kind === 'consult' ? html`<button type="button" class="btn primary" data-outcome="consulted" onClick=${() => onOutcome({ outcome: 'consulted' })}>Consulted</button>` : null}
    ${working && proposal?.kind === 'by-hand' ? html`<button type="button" class="btn primary" data-outcome="sent-by-hand" onClick=${() => onOutcome({ outcome: 'sent-by-hand' })}>Sent</button>` : null}
  </div>`;
}

function ClaimRow({ alarm: a, me, act }) {
  const [reason, setReason] = useState(null);
  if (a.status === 'closed')
    return html`<div class="status closed" role="status">Closed: ${a.closeReason ?? ''}. Nothing more to do on this incident.</div>`;
  if (!a.claimedBy)
    return html`<div class="row"><button type="button" class="btn primary" id="claim" onClick=${() => act('POST', `/api/alarms/${a.alarmId}/claim`)}>Claim</button><span class="muted">nobody handles it yet</span></div>`;
  if (a.claimedBy.username === me.username)
    return html`<div class="row"><span class="badge claimed">Claimed by you</span><button type="button" class="btn small" onClick=${() => act('DELETE', `/api/alarms/${a.alarmId}/claim`)}>Release</button></div>`;
  const takeOver = (e) => {
    e.preventDefault();
    act('POST', `/api/alarms/${a.alarmId}/claim`, {
      takeOver: true,
      reason: new FormData(e.currentTarget).get('reason'),
    });
    setReason(null);
  };
  return html`<div class="status held" role="status">
    <div><span class="badge claimed">Claimed by ${a.claimedBy.displayName}</span> ${a.claimedAt ? html`<span class="muted">since ${timeOf(a.claimedAt)}</span>` : null}</div>
    ${me.role === 'supervisor' && reason === null ? html`<button type="button" class="btn small" onClick=${() => setReason('')}>Take over</button>` : null}
    ${
      reason !== null
        ? html`<form class="row" aria-label="Take over" onSubmit=${takeOver}>
          <input name="reason" aria-label="Reason for taking over" placeholder=${`Why (${a.claimedBy.displayName} is told)`} required size="30" />
          <button type="submit" class="btn primary">Take over now</button>
          <button type="button" class="btn small" onClick=${() => setReason(null)}>Cancel</button>
        </form>`
        : null
    }
  </div>`;
}

function Feedback({ feedback, onDismiss }) {
  if (!feedback) return html`<div id="detail-error"></div>`;
  return html`<div id="detail-error" class=${feedback.tone === 'ok' ? 'notice ok' : 'notice error'} role=${feedback.tone === 'ok' ? 'status' : 'alert'}>
    ${feedback.text} <button type="button" class="link" aria-label="Dismiss" onClick=${onDismiss}>×</button>
  </div>`;
}

function CodeCheck({ alarmId, setFeedback, reload }) {
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    document.activeElement?.blur();
    const f = new FormData(form);
    const r = await api('POST', `/api/alarms/${alarmId}/code-check`, {
      idCode: f.get('idCode'),
      pin: f.get('pin'),
      cancel: f.get('cancel') === 'on',
    });
    const valid = r.ok && r.body.result === 'valid';
    setFeedback({
      alarmId,
      tone: valid ? 'ok' : 'error',
      text: !r.ok
        ? refusal(r)
        : valid
          ? 'Code valid.'
          : r.body.result === 'locked'
            ? 'Code not accepted: locked after repeated failures.'
            : 'Code not accepted.',
    });
    if (valid) form.reset();
    await reload();
  };
  return html`<form class="row" aria-label="ID code check" onSubmit=${submit}>
    <input name="idCode" inputmode="numeric" placeholder="ID code" aria-label="ID code" size="7" required autocomplete="off" />
    <input name="pin" type="password" inputmode="numeric" placeholder="PIN" aria-label="PIN" size="6" required autocomplete="off" />
    <label class="check"><input type="checkbox" name="cancel" /> cancels</label>
    <button type="submit" class="btn">Check code</button>
  </form>`;
}

function Timeline({ events }) {
  return html`<ol class="trail" id="timeline">
    ${events.map((e) => html`<li key=${e.id} class=${e.qualifier === 'restore' ? 'restore' : ''}><time>${timeOf(e.occurredAt)}</time> ${eventWords(e.eventType, e.qualifier)} · ${whereWords(e)}</li>`)}
  </ol>`;
}

function Trail({ actions }) {
  return html`<ol class="trail" id="trail">
    ${actions.map((x, i) => html`<li key=${i} class=${`trail-${x.sort}`}><time>${timeOf(x.at)}</time> ${x.sort == null ? '(written before proposals and facts were told apart) ' : ''}${trailWords(x)} <span class="who">(${actorWords(x.actor)})</span></li>`)}
  </ol>`;
}

export function IncidentPanel({ detail, me, feedback, setFeedback, reload }) {
  const { alarm: a, proposal, actions, site, media, timeline } = detail;
  const mine = a.claimedBy?.username === me.username;
  const working = mine && a.status !== 'closed';
  const act = async (method, path, body) => {
    if (document.activeElement && document.getElementById('detail')?.contains(document.activeElement))
      document.activeElement.blur();
    setFeedback(null);
    const r = await api(method, path, body);
    if (!r.ok) setFeedback({ alarmId: a.alarmId, tone: 'error', text: refusal(r) });
    await reload();
    return r;
  };
  const outcome = (body) => act('POST', `/api/alarms/${a.alarmId}/outcome`, body);
  const closeAlarm = (e) => {
    e.preventDefault();
    outcome({ outcome: new FormData(e.currentTarget).get('reason') });
  };
  const addNote = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const r = await act('POST', `/api/alarms/${a.alarmId}/notes`, { text: new FormData(form).get('text') });
    if (r.ok) form.reset();
  };
  const held = a.claimedBy && !mine && a.status !== 'closed';
  return html`<div>
    <h2>${a.title} — ${a.siteName}</h2>
    <div class="muted summary">${whereWords(a)}${a.text && a.text !== a.deviceName ? ` · ${a.text}` : ''} · started ${timeOf(a.occurredAt)} · CID ${a.cid} / SIA ${a.sia}</div>
    <${ClaimRow} key=${a.alarmId} alarm=${a} me=${me} act=${act} />
    <${Feedback} feedback=${feedback?.alarmId === a.alarmId ? feedback : null} onDismiss=${() => setFeedback(null)} />
    ${
      a.status === 'closed'
        ? null
        : held
          ? html`<h3>${a.claimedBy.displayName}'s step</h3><div class="muted" id="proposal">${stepWords(proposal)}</div>`
          : html`<h3>Next step</h3><${NextStep} proposal=${proposal} working=${working} onOutcome=${outcome} />`
    }
    ${!working && !a.claimedBy && a.status !== 'closed' ? html`<p class="muted">Claim the alarm to work on it.</p>` : null}
    <h3>Timeline</h3>
    <${Timeline} events=${timeline} />
    ${
      working
        ? html`<div key="work">
          <h3>Caller</h3><${CodeCheck} alarmId=${a.alarmId} setFeedback=${setFeedback} reload=${reload} />
          <h3>Note</h3>
          <form class="row" aria-label="Add a note" onSubmit=${addNote}>
            <input name="text" id="note-text" placeholder="Note for the trail" aria-label="Note" size="34" required />
            <button type="submit" class="btn">Add note</button>
          </form>
          <h3>Close</h3>
          <form class="row" aria-label="Close the alarm" onSubmit=${closeAlarm}>
            <select name="reason" aria-label="Close reason">${CLOSE_REASONS.map(([v, t]) => html`<option value=${v}>${t}</option>`)}</select>
            <button type="submit" class="btn">Close alarm</button>
          </form>
          <h3>Cameras</h3><${Cameras} alarmId=${a.alarmId} media=${media} />
        </div>`
        : null
    }
    <h3>Site</h3><${SiteCard} site=${site} />
    <h3>Trail</h3><${Trail} actions=${actions} />
    <div class="muted">Opened ${dateTimeOf(a.openedAt)}</div>
  </div>`;
}
