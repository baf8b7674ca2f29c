// The homeowner's panel, served by the gateway on the premises' network: arm and disarm with a user
// code, exit and entry countdowns, zones (bypass, chime), troubles, the event feed and the camera
// access log. It talks to the gateway only, so it works with the alarm centre unreachable.
import { html, render, useEffect, useRef, useState } from '../lib/html.js';
import { Keypad } from '../lib/keypad.js';
import { clock, dateTimeOf, timeOf, useNow } from '../lib/time.js';
import { eventWords } from '../lib/words.js';

const POLL_MS = 1000;
const MODES = [
  ['away', 'Arm away', 'Everyone out: every zone'],
  ['home', 'Arm home', 'At home: doors and windows'],
  ['night', 'Arm night', 'Asleep: all but the bedroom floor'],
];
const MODE_WORDS = { disarmed: 'Disarmed', away: 'Armed away', home: 'Armed home', night: 'Armed night' };

async function call(method, path, body, code) {
  try {
    const response = await fetch(path, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(code ? { 'x-vigil-code': code } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body: json };
  } catch {
    return { ok: false, status: 0, body: { error: 'The gateway cannot be reached.' } };
  }
}

const REFUSALS = {
  401: 'Wrong code.',
  403: 'This code may not do that.',
  423: 'Too many wrong codes: the keypad is locked for a while.',
};
const refusal = (r) =>
  REFUSALS[r.status] ??
  (r.body?.error ? `${r.body.error.charAt(0).toUpperCase()}${r.body.error.slice(1)}.` : 'Not done.');

function AreaCard({ area, sounding, onArm, onDisarm }) {
  const now = useNow(Boolean(area.deadline));
  const left = area.deadline ? Math.max(0, (Date.parse(area.deadline) - now) / 1000) : 0;
  const state = sounding
    ? 'alarm'
    : area.phase === 'exit'
      ? 'exit'
      : area.phase === 'entry'
        ? 'entry'
        : area.mode;
  const words =
    state === 'alarm'
      ? 'ALARM'
      : state === 'exit'
        ? `Leave now: ${MODE_WORDS[area.mode].toLowerCase()} in`
        : state === 'entry'
          ? 'Disarm now: alarm in'
          : MODE_WORDS[area.mode];
  return html`<section class=${`area ${state}`} aria-label=${`Area ${area.name}`}>
    <div class="area-name">${area.name}</div>
    <div class="area-state" role="status">${words}${area.deadline ? html` <span class="countdown">${clock(left)}</span>` : null}</div>
    <div class="actions">
      ${
        area.mode === 'disarmed'
          ? MODES.map(
              ([mode, label, hint]) =>
                html`<button type="button" class=${`btn big ${mode}`} title=${hint} onClick=${() => onArm(area, mode)}>${label}</button>`,
            )
          : html`<button type="button" class="btn big disarm" onClick=${() => onDisarm(area)}>Disarm</button>`
      }
    </div>
  </section>`;
}

function Zones({ devices, onBypass, onChime }) {
  return html`<section class="card" aria-label="Zones"><h2>Zones</h2>
    <ul class="zones">${devices.map(
      (d) => html`<li key=${d.id} class=${d.open ? 'open' : ''}>
      <div><strong>${d.name}</strong><div class="muted">zone ${d.zone} · ${d.type}</div></div>
      <div class="zone-state">${d.bypassed ? html`<span class="badge yellow">bypassed</span>` : d.open ? html`<span class="badge red">open</span>` : html`<span class="badge ok">closed</span>`}</div>
      <div class="zone-actions">
        <button type="button" class="btn small" aria-label=${`${d.bypassed ? 'Unbypass' : 'Bypass'} ${d.name}`} onClick=${() => onBypass(d)}>${d.bypassed ? 'Unbypass' : 'Bypass'}</button>
        <button type="button" class=${`btn small${d.chime ? ' on' : ''}`} aria-pressed=${String(d.chime)} aria-label=${`Chime ${d.name}`} onClick=${() => onChime(d)}>Chime</button>
      </div>
    </li>`,
    )}</ul>
  </section>`;
}

function Troubles({ troubles }) {
  return html`<section class="card" aria-label="Troubles"><h2>Troubles</h2>
    ${
      troubles.length === 0
        ? html`<p class="ok">No trouble: every detector, the power and the link to the alarm centre are fine.</p>`
        : html`<ul class="troubles">${troubles.map((t, i) => html`<li key=${i}><strong>${t.what}</strong>: ${t.trouble}</li>`)}</ul>`
    }
  </section>`;
}

/** Behind the user's code: the event feed and the camera access log. */
function Locked({ title, load, children }) {
  const [code, setCode] = useState(null);
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [asking, setAsking] = useState(false);
  const open = async (entered) => {
    setAsking(false);
    const r = await load(entered);
    if (!r.ok) return setError(refusal(r));
    setError('');
    setCode(entered);
    setData(r.body);
    return undefined;
  };
  useEffect(() => {
    if (!code) return undefined;
    const timer = setInterval(async () => {
      const r = await load(code);
      if (r.ok) setData(r.body);
    }, 5000);
    return () => clearInterval(timer);
  }, [code]);
  return html`<section class="card" aria-label=${title}><h2>${title}</h2>
    ${data ? children(data) : html`<button type="button" class="btn" onClick=${() => setAsking(true)}>Show ${title.toLowerCase()}</button>`}
    ${error ? html`<div class="notice error" role="alert">${error}</div>` : null}
    ${asking ? html`<${Keypad} title=${`Code to see ${title.toLowerCase()}`} onCode=${open} onCancel=${() => setAsking(false)} />` : null}
  </section>`;
}

function EventFeed({ events }) {
  if (events.length === 0) return html`<p class="muted">No events yet.</p>`;
  return html`<ol class="feed" aria-label="Events">${events.map(
    (e) => html`<li key=${e.id}>
    <time>${dateTimeOf(e.at)}</time> <strong>${eventWords(e.eventType, e.qualifier)}</strong>${e.deviceName ? ` · ${e.deviceName}` : ''}<div class="muted">${e.text}</div>
  </li>`,
  )}</ol>`;
}

function CameraLog({ accesses }) {
  if (accesses.length === 0) return html`<p class="muted">The alarm centre has not looked at any camera.</p>`;
  return html`<ol class="feed" aria-label="Camera access">${accesses.map(
    (a, i) => html`<li key=${i}>
    <time>${dateTimeOf(a.at)}</time> <strong>${a.granted ? 'Looked at' : 'Refused'}</strong> ${a.cameraId}${a.operator ? ` · by ${a.operator}` : ''}<div class="muted">${a.reason}</div>
  </li>`,
  )}</ol>`;
}

/** A short tone when a detector with the chime on opens while disarmed. */
function useChime(notices) {
  const seen = useRef(null);
  const audio = useRef(null);
  useEffect(() => {
    const latest = notices.filter((n) => n.kind === 'chime').at(-1)?.at ?? 0;
    if (seen.current !== null && latest > seen.current) {
      try {
        audio.current ??= new AudioContext();
        const ctx = audio.current;
        const o = ctx.createOscillator();
        const g = ctx.createGain();
        o.frequency.value = 1046;
        g.gain.setValueAtTime(0.2, ctx.currentTime);
        g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.6);
        o.connect(g).connect(ctx.destination);
        o.start();
        o.stop(ctx.currentTime + 0.6);
      } catch {
        // No sound where the browser allows none yet.
      }
    }
    seen.current = latest;
  }, [notices]);
}

function Panel() {
  const [status, setStatus] = useState(null);
  const [notices, setNotices] = useState([]);
  const [reachable, setReachable] = useState(true);
  const [ask, setAsk] = useState(null);
  const [message, setMessage] = useState(null);
  useChime(notices);
  const refresh = async () => {
    const [s, n] = await Promise.all([call('GET', '/api/status'), call('GET', '/api/notices')]);
    setReachable(s.ok);
    if (s.ok) setStatus(s.body);
    if (n.ok) setNotices(n.body);
  };
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  const withCode = (title, action) => setAsk({ title, action });
  const run = async (code) => {
    const { action } = ask;
    setAsk(null);
    const r = await action(code);
    setMessage(r.ok ? { ok: true, text: r.done } : { ok: false, text: refusal(r) });
    refresh();
  };
  const act = (title, method, path, body, done) =>
    withCode(title, async (code) => ({ ...(await call(method, path, { ...body, code })), done }));

  if (!status)
    return html`<header><h1>Vigil</h1></header><main><p class="muted">${reachable ? 'Loading…' : 'The gateway cannot be reached.'}</p></main>`;
  const sounding = status.outputs.some((o) => o.kind === 'siren' && o.on);
  const open = status.devices.filter((d) => d.open && !d.bypassed);
  return html`
    <header><h1>Vigil</h1><span class=${`link ${status.uplink === 'connected' ? 'up' : 'down'}`}>${status.uplink === 'connected' ? 'alarm centre connected' : 'alarm centre not reachable: the panel still works'}</span></header>
    ${reachable ? null : html`<div class="banner lost" role="alert">The gateway does not answer. What is shown may be out of date.</div>`}
    <main class="panel">
      ${message ? html`<div class=${message.ok ? 'notice ok' : 'notice error'} role=${message.ok ? 'status' : 'alert'}>${message.text} <button type="button" class="link" aria-label="Dismiss" onClick=${() => setMessage(null)}>×</button></div>` : null}
      ${status.keypadLocked ? html`<div class="notice error" role="alert">Keypad locked after wrong codes: try again later.</div>` : null}
      ${status.areas.map(
        (area) => html`<${AreaCard} key=${area.id} area=${area} sounding=${sounding}
        onArm=${(a, mode) => act(`${MODES.find(([m]) => m === mode)[1]}: ${a.name}`, 'POST', `/api/areas/${a.id}/arm`, { mode }, `${a.name}: arming ${mode}.`)}
        onDisarm=${(a) => act(`Disarm ${a.name}`, 'POST', `/api/areas/${a.id}/disarm`, {}, `${a.name} disarmed.`)} />`,
      )}
      ${open.length ? html`<div class="notice error" role="status">Open now: ${open.map((d) => d.name).join(', ')}. Close them or bypass them before arming.</div>` : null}
      <${Troubles} troubles=${status.troubles} />
      <${Zones} devices=${status.devices}
        onBypass=${(d) => act(`${d.bypassed ? 'Unbypass' : 'Bypass'} ${d.name}`, 'POST', `/api/devices/${d.id}/bypass`, { bypassed: !d.bypassed }, `${d.name} ${d.bypassed ? 'back in' : 'bypassed'}.`)}
        onChime=${(d) => act(`Chime ${d.chime ? 'off' : 'on'}: ${d.name}`, 'POST', `/api/devices/${d.id}/chime`, { on: !d.chime }, `Chime ${d.chime ? 'off' : 'on'} for ${d.name}.`)} />
      <${Locked} title="Events" load=${(code) => call('GET', '/api/events?limit=100', undefined, code)}>${(data) => html`<${EventFeed} events=${data.events} />`}</${Locked}>
      <${Locked} title="Camera access" load=${(code) => call('GET', '/api/camera-access', undefined, code)}>${(data) => html`<${CameraLog} accesses=${data.accesses} />`}</${Locked}>
      <p class="muted">Updated ${timeOf(new Date().toISOString())} · gateway ${status.gatewayId}</p>
    </main>
    ${ask ? html`<${Keypad} title=${ask.title} onCode=${run} onCancel=${() => setAsk(null)} />` : null}`;
}

render(html`<${Panel} />`, document.getElementById('app'));
