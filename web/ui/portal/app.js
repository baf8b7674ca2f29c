// The customer's portal, phone first: the arming state as the gateway reports it, arm and disarm
// through the gateway with the keypad code, open alarms (cancel where a cancel means something),
// test mode, contacts, notifications on this phone, the camera access log with its pictures,
// history and reports in words.

import { useAnswer } from '../lib/answer.js';
import { api, useList } from '../lib/api.js';
import { html, render, useEffect, useRef, useState } from '../lib/html.js';
import { Keypad } from '../lib/keypad.js';
import { Login, useSession } from '../lib/session.js';
import { clock, dateTimeOf, useNow } from '../lib/time.js';
import { eventWords, trailWords } from '../lib/words.js';
import { ReportChart } from './chart.js';
import { PushToggle } from './push.js';

const MODE_WORDS = { disarmed: 'Disarmed', away: 'Armed away', home: 'Armed home', night: 'Armed night' };
const MODES = [
  ['away', 'Arm away'],
  ['home', 'Arm home'],
  ['night', 'Arm night'],
];
const TEST_DURATIONS = [
  [60, '1 hour'],
  [240, '4 hours'],
  [480, '8 hours'],
  [1440, '24 hours'],
];

/** The authorised person's ID code and PIN, asked once and used for what needs them. */
function CodeCard({ code, setCode }) {
  const [view, show] = useAnswer();
  const change = async (e) => {
    e.preventDefault();
    const newPin = new FormData(e.currentTarget).get('newPin');
    const r = await api('POST', '/api/customer/pin', { ...code, newPin });
    show(r, 'PIN changed.');
    if (r.ok) setCode({ ...code, pin: String(newPin) });
  };
  return html`<section class="card" aria-labelledby="code-title">
    <h2 id="code-title">Your ID code and PIN</h2>
    <p class="muted">Asked, as on the phone, for cancelling an alarm, test mode and contacts.</p>
    <div class="row">
      <input inputmode="numeric" placeholder="ID code" aria-label="ID code" size="7" autocomplete="off" value=${code.idCode} onInput=${(e) => setCode({ ...code, idCode: e.currentTarget.value.trim() })} />
      <input type="password" inputmode="numeric" placeholder="PIN" aria-label="PIN" size="6" autocomplete="off" value=${code.pin} onInput=${(e) => setCode({ ...code, pin: e.currentTarget.value })} />
    </div>
    <form class="row" aria-label="Change PIN" onSubmit=${change}>
      <input name="newPin" type="password" inputmode="numeric" placeholder="New PIN" aria-label="New PIN" size="8" pattern="[0-9]{4,8}" required />
      <button type="submit" class="btn">Change PIN</button>
    </form>
    ${view}
  </section>`;
}

function AreaState({ area, onArm }) {
  const now = useNow(Boolean(area.until));
  const left = area.until ? Math.max(0, (Date.parse(area.until) - now) / 1000) : 0;
  const phase = area.phase ?? (area.state === 'armed' ? 'armed' : 'disarmed');
  const mode = area.mode ?? (area.state === 'armed' ? 'away' : 'disarmed');
  const words =
    phase === 'exit'
      ? `Arming (${MODE_WORDS[mode].toLowerCase()}) in`
      : phase === 'entry'
        ? 'Entry: disarm within'
        : (MODE_WORDS[mode] ?? area.state);
  const state = phase === 'exit' || phase === 'entry' ? 'delay' : mode;
  return html`<div class=${`area-state ${state}`} aria-label=${`Area ${area.name ?? area.area}`}>
    <div class="row spread"><strong>${area.name ?? `Area ${area.area}`}</strong><span class="muted">${area.since ? `since ${dateTimeOf(area.since)}` : ''}</span></div>
    <div class="state" role="status">${words}${area.until ? html` <span class="countdown">${clock(left)}</span>` : null}</div>
    <div class="row">
      ${
        mode === 'disarmed'
          ? MODES.map(
              ([m, label]) =>
                html`<button type="button" class="btn" onClick=${() => onArm(area, m)}>${label}</button>`,
            )
          : html`<button type="button" class="btn primary" onClick=${() => onArm(area, 'disarmed')}>Disarm</button>`
      }
    </div>
  </div>`;
}

function Status({ overview, code, reload }) {
  const [ask, setAsk] = useState(null);
  const [view, show] = useAnswer();
  const [busy, setBusy] = useState(false);
  const [endView, showEnd] = useAnswer();
  const s = overview.site;
  const inTest = s.testModeUntil && Date.parse(s.testModeUntil) > Date.now();
  const arm = async (keypadCode) => {
    const { area, mode } = ask;
    setAsk(null);
    setBusy(true);
    const r = await api('POST', '/api/customer/arming', { area: area.area, mode, code: keypadCode });
    setBusy(false);
    show(r, mode === 'disarmed' ? 'Disarmed.' : `Arming ${mode}: leave within the exit delay.`);
    reload();
  };
  const endTest = async () => {
    const r = await api('DELETE', '/api/customer/test-mode', code);
    showEnd(r, 'Test mode ended: alarms are handled again.');
    reload();
  };
  return html`<section class="card" aria-labelledby="status-title">
    <h2 id="status-title">${s.name}</h2>
    <div class="muted">${s.address}</div>
    ${overview.arming.length === 0 ? html`<p class="muted">Your gateway has not reported its arming yet.</p>` : null}
    ${overview.arming.map((a) => html`<${AreaState} key=${a.area} area=${a} onArm=${(area, mode) => setAsk({ area, mode })} />`)}
    ${busy ? html`<div class="muted" role="status">Asking your gateway…</div>` : null}
    ${view}
    ${overview.gateways.map((g) => html`<div key=${g.id} class=${g.online ? 'muted' : 'notice error'}>Gateway ${g.online ? 'connected' : 'NOT CONNECTED'} · last heard ${dateTimeOf(g.lastSeenAt)}</div>`)}
    ${
      inTest
        ? html`<div class="row"><span class="badge yellow" id="in-test">In test until ${dateTimeOf(s.testModeUntil)}</span>
          <button type="button" class="btn small" onClick=${endTest}>End test mode now</button></div>`
        : null
    }
    ${endView}
    ${
      ask
        ? html`<${Keypad} title=${`${ask.mode === 'disarmed' ? 'Disarm' : MODES.find(([m]) => m === ask.mode)[1]}: your keypad code`} onCode=${arm} onCancel=${() => setAsk(null)} />`
        : null
    }
  </section>`;
}

function OpenAlarm({ alarm: a, code, reload }) {
  const [view, show] = useAnswer();
  const cancel = async (e) => {
    e.preventDefault();
    const r = await api('POST', `/api/customer/alarms/${a.alarmId}/cancel`, code);
    show(
      r,
      r.ok && r.body.confirmation ? 'Cancel sent: the operator on it confirms it.' : 'Cancelled. Thank you.',
    );
    if (r.ok) setTimeout(reload, 800);
  };
  return html`<li class="open-alarm">
    <div><strong>${eventWords(a.eventType)}</strong> · ${a.text}</div>
    <div class="muted">${dateTimeOf(a.openedAt)} · ${a.status === 'claimed' ? 'an operator is handling it' : 'waiting for an operator'}</div>
    ${
      a.cancellable
        ? html`<form class="row" aria-label=${`Cancel alarm ${a.alarmId}`} onSubmit=${cancel}>
          <button type="submit" class="btn danger">Cancel this alarm (false alarm)</button>${view}
        </form>`
        : html`<div class="muted">${a.class === 'technical' || a.class === 'schedule' ? 'Closes by itself when the cause is put right.' : 'Your cancel is being confirmed.'}</div>`
    }
  </li>`;
}

function TestMode({ code, reload }) {
  const [view, show] = useAnswer();
  const submit = async (e) => {
    e.preventDefault();
    const r = await api('PUT', '/api/customer/test-mode', {
      ...code,
      minutes: Number(new FormData(e.currentTarget).get('minutes')),
    });
    show(r, r.ok ? `In test until ${dateTimeOf(r.body.testModeUntil)}.` : '');
    reload();
  };
  return html`<section class="card" aria-labelledby="test-title"><h2 id="test-title">Test mode</h2>
    <p class="muted">While in test the alarm centre does not act on alarms (a technician at work, a move).</p>
    <form class="row" aria-label="Request test mode" onSubmit=${submit}>
      <select name="minutes" aria-label="Duration">${TEST_DURATIONS.map(([m, t]) => html`<option value=${m}>${t}</option>`)}</select>
      <button type="submit" class="btn">Put in test</button>
      ${view}
    </form>
  </section>`;
}

function Contacts({ code }) {
  const [contacts, load] = useList('/api/customer/contacts', 'contacts');
  const [view, show] = useAnswer();
  const add = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const contact = { name: f.get('name'), role: 'keyholder', order: Number(f.get('order')) };
    if (f.get('mobile')) contact.mobile = f.get('mobile');
    const r = await api('POST', '/api/customer/contacts', { ...code, contact });
    show(
      r,
      r.ok
        ? `Added. Their ID code ${r.body.idCode} and first PIN ${r.body.defaultPin} are shown once: pass them on.`
        : '',
    );
    if (r.ok) {
      form.reset();
      load();
    }
  };
  const remove = async (c) => {
    const r = await api('DELETE', `/api/customer/contacts/${c.id}`, code);
    show(r, `${c.name} removed.`);
    load();
  };
  return html`<section class="card" aria-labelledby="contacts-title"><h2 id="contacts-title">Contacts</h2>
    <table aria-label="Contacts"><thead><tr><th>Name</th><th>Role</th><th>Order</th><th>Phone</th><th></th></tr></thead>
      <tbody>${(contacts ?? []).map(
        (
          c,
        ) => html`<tr key=${c.id}><td>${c.name}</td><td>${c.role}</td><td>${c.order}</td><td>${c.mobile ?? c.phone ?? ''}</td>
        <td><button type="button" class="btn small" onClick=${() => remove(c)}>Remove ${c.name}</button></td></tr>`,
      )}</tbody></table>
    <form class="row" aria-label="Add a keyholder" onSubmit=${add}>
      <input name="name" placeholder="Name" aria-label="Keyholder name" required />
      <input name="mobile" placeholder="+31 6 …" aria-label="Keyholder mobile" />
      <input name="order" type="number" min="1" max="10" defaultValue="1" aria-label="Call order" size="3" />
      <button type="submit" class="btn">Add keyholder</button>
      ${view}
    </form>
  </section>`;
}

function FollowUp({ f }) {
  const [view, show] = useAnswer();
  const send = async (e) => {
    e.preventDefault();
    const r = await api('POST', `/api/customer/follow-ups/${f.id}/reply`, {
      text: new FormData(e.currentTarget).get('text'),
    });
    show(r, 'Sent.');
  };
  return html`<form class="follow-up" aria-label=${`Reply to follow-up ${f.id}`} onSubmit=${send}>
    <div>After the ${eventWords(f.eventType).toLowerCase()} alarm of ${dateTimeOf(f.createdAt)}: ${f.doneAt ? `handled — ${f.note}` : `we will contact you by ${dateTimeOf(f.dueAt)}.`}</div>
    ${
      f.doneAt
        ? null
        : html`<div class="row"><input name="text" placeholder="Anything we should know?" aria-label="Follow-up reply" defaultValue=${f.reply ?? ''} size="30" /><button type="submit" class="btn">Send</button></div>`
    }
    ${view}
  </form>`;
}

function CameraLog() {
  const [accesses, setAccesses] = useState(null);
  useEffect(() => {
    api('GET', '/api/customer/camera-access').then((r) => r.ok && setAccesses(r.body.accesses));
  }, []);
  return html`<section class="card" aria-labelledby="camera-title"><h2 id="camera-title">Camera access</h2>
    <p class="muted">The alarm centre may look at your cameras for 15 minutes from the start of an alarm, never outside one.</p>
    ${accesses && accesses.length === 0 ? html`<p class="muted">No camera was looked at.</p>` : null}
    <ol class="feed" aria-label="Camera access log">${(accesses ?? []).map(
      (a) => html`<li key=${a.id}>
      <div><strong>${a.by}</strong> looked at ${a.cameras.join(', ')} during the ${eventWords(a.eventType).toLowerCase()} alarm</div>
      <div class="muted">${dateTimeOf(a.at)} until ${dateTimeOf(a.until)} · ${a.pictures.length} picture(s)</div>
      <div class="pictures">${a.pictures.map((p) => html`<img key=${p.id} src=${`/api/customer/media/${p.id}`} alt=${`${p.cameraId} at ${dateTimeOf(p.takenAt)}`} loading="lazy" />`)}</div>
    </li>`,
    )}</ol>
  </section>`;
}

function History() {
  const [alarms, setAlarms] = useState([]);
  const [events, setEvents] = useState([]);
  useEffect(() => {
    api('GET', '/api/customer/alarms').then((r) => r.ok && setAlarms(r.body.alarms));
    api('GET', '/api/customer/events?limit=50').then((r) => r.ok && setEvents(r.body.events));
  }, []);
  return html`<section class="card" aria-labelledby="history-title"><h2 id="history-title">Alarm history</h2>
    ${alarms.length === 0 ? html`<p class="muted">No alarm yet.</p>` : null}
    ${alarms.map(
      (a) => html`<details key=${a.alarmId}>
      <summary>${dateTimeOf(a.openedAt)} · ${eventWords(a.eventType)} · ${a.status === 'closed' ? (a.closeReason ?? 'closed') : 'being handled'}</summary>
      <ol class="compact">${a.steps.map((s, i) => html`<li key=${i}>${dateTimeOf(s.at)} ${trailWords({ ...s, sort: 'outcome' })} (${s.by})</li>`)}</ol>
    </details>`,
    )}
    <h3>Events</h3>
    <ol class="feed" aria-label="Events">${events.map((e) => html`<li key=${e.id}><span class="muted">${dateTimeOf(e.occurredAt)}</span> ${eventWords(e.eventType, e.qualifier)}${e.deviceName ? ` · ${e.deviceName}` : ''}</li>`)}</ol>
  </section>`;
}

function Report() {
  const [report, setReport] = useState(null);
  const load = async (period) => {
    const r = await api('GET', `/api/customer/report?period=${period}`);
    if (r.ok) setReport(r.body);
  };
  useEffect(() => {
    load('week');
  }, []);
  const total = report ? report.buckets.reduce((n, b) => n + b.alarms, 0) : 0;
  const periodWords = { day: 'day', week: '7 days', month: '30 days' };
  return html`<section class="card" aria-labelledby="report-title"><h2 id="report-title">Report</h2>
    <form class="row" aria-label="Report period" onSubmit=${(e) => {
      e.preventDefault();
      load(new FormData(e.currentTarget).get('period'));
    }}>
      <select name="period" aria-label="Period"><option value="day">Last day</option><option value="week" selected>Last 7 days</option><option value="month">Last 30 days</option></select>
      <button type="submit" class="btn">Show report</button>
    </form>
    ${
      report
        ? html`<p>${total} alarm(s) in the last ${periodWords[report.period]}; ${report.arming.length} arming change(s).</p>
          <${ReportChart} report=${report} />
          <table aria-label="Arming history"><tbody>${report.arming.map((a, i) => html`<tr key=${i}><td>${dateTimeOf(a.at)}</td><td>${a.state === 'armed' ? 'Armed' : 'Disarmed'}</td><td>${a.text}</td></tr>`)}</tbody></table>`
        : null
    }
  </section>`;
}

function Portal({ me, onLogout }) {
  const [overview, setOverview] = useState(null);
  const [followUps, setFollowUps] = useState([]);
  const [code, setCode] = useState({ idCode: '', pin: '' });
  const load = async () => {
    const [o, f] = await Promise.all([
      api('GET', '/api/customer/overview'),
      api('GET', '/api/customer/follow-ups'),
    ]);
    if (o.ok) setOverview(o.body);
    if (f.ok) setFollowUps(f.body.followUps);
  };
  const timer = useRef(null);
  useEffect(() => {
    load();
    timer.current = setInterval(load, 5000);
    return () => clearInterval(timer.current);
  }, []);
  return html`<header><h1>Vigil</h1><span id="who">${me.displayName}</span><button type="button" id="logout" class="btn small" onClick=${onLogout}>Log out</button></header>
    <main class="portal">
      ${overview ? html`<${Status} overview=${overview} code=${code} reload=${load} />` : html`<p class="muted">Loading…</p>`}
      <section class="card" aria-labelledby="open-title"><h2 id="open-title">Open alarms</h2>
        ${overview && overview.openAlarms.length === 0 ? html`<p class="muted">No open alarms.</p>` : null}
        <ul class="open-alarms">${(overview?.openAlarms ?? []).map((a) => html`<${OpenAlarm} key=${a.alarmId} alarm=${a} code=${code} reload=${load} />`)}</ul>
      </section>
      <${CodeCard} code=${code} setCode=${setCode} />
      <${PushToggle} siteId=${me.siteId} code=${code} />
      <${TestMode} code=${code} reload=${load} />
      <${Contacts} code=${code} />
      <section class="card" aria-labelledby="follow-title"><h2 id="follow-title">After an alarm</h2>
        ${followUps.length === 0 ? html`<p class="muted">Nothing to follow up.</p>` : followUps.map((f) => html`<${FollowUp} key=${f.id} f=${f} />`)}
      </section>
      <${CameraLog} />
      <${History} />
      <${Report} />
    </main>`;
}

function App() {
  const { me, message, enter, logout } = useSession(['customer'], 'This portal is for customers.');
  if (me === undefined) return html`<header><h1>Vigil</h1></header>`;
  if (me === null)
    return html`<header><h1>Vigil — my alarm system</h1></header><main><${Login} title="Log in" onIn=${enter} message=${message} /></main>`;
  return html`<${Portal} key=${me.username} me=${me} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
