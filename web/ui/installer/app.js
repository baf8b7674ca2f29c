// The installer's portal: my sites, a site's gateway credentials (a live gateway's secret replaced
// only after a confirmation), the live walk test with every device and its state, the commissioning
// report, activation; and submitting a site (the central reviews it, and says why when it refuses).
import { api, refusal } from '../lib/api.js';
import { html, render, useEffect, useState } from '../lib/html.js';
import { Login, useSession } from '../lib/session.js';
import { dateTimeOf, timeOf } from '../lib/time.js';

const STATUS_WORDS = {
  submitted: 'submitted',
  rejected: 'rejected',
  registered: 'registered',
  active: 'active',
};

function Sites({ sites, onOpen }) {
  return html`<section class="card" aria-labelledby="sites-title"><h2 id="sites-title">My sites</h2>
    <table aria-label="My sites"><thead><tr><th>Site</th><th>Address</th><th>Status</th><th>Gateway</th><th></th></tr></thead>
      <tbody>${sites.map(
        (s) => html`<tr key=${s.id}>
        <td>${s.name} (${s.id})</td><td>${s.address}</td>
        <td>${STATUS_WORDS[s.status] ?? s.status}${s.rejection ? html`<div class="notice error">Rejected by the central: ${s.rejection}. Correct it and submit the site again.</div>` : null}</td>
        <td>${s.online ? 'online' : '—'}</td>
        <td><button type="button" class="btn small" onClick=${() => onOpen(s.id)}>Open ${s.id}</button></td></tr>`,
      )}</tbody></table>
  </section>`;
}

function WalkTest({ siteId }) {
  const [walk, setWalk] = useState(null);
  useEffect(() => {
    let stopped = false;
    let timer = null;
    const poll = async () => {
      const r = await api('GET', `/api/installer/sites/${siteId}/walk-test`);
      if (!stopped && r.ok) setWalk(r.body);
      if (!stopped) timer = setTimeout(poll, 1000);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [siteId]);
  if (!walk) return null;
  return html`<div id="walk" aria-live="polite">
    <div id="walk-state">${walk.running ? `Walk test running since ${timeOf(walk.startedAt)}` : (walk.summary ?? 'No walk test yet.')}</div>
    <ul aria-label="Walk test devices" class="walk">
      ${walk.devices.map(
        (d) => html`<li key=${d.id} class=${d.tested ? 'yes' : 'no'} data-device=${d.id}>
        <span class="mark">${d.tested ? '✓' : '…'}</span> zone ${d.zone} ${d.name} <span class="muted">${d.type}</span>
        <span class="muted">${d.tested ? `tested ${timeOf(d.tested.at)}: ${d.tested.text}` : 'not triggered yet'}${d.planned && !d.reported ? ' · not reported by the gateway' : ''}${!d.planned ? ' · not on the plan' : ''}</span>
      </li>`,
      )}
    </ul>
  </div>`;
}

function Site({ siteId, onChanged }) {
  const [site, setSite] = useState(null);
  const [say, setSay] = useState(null);
  const [config, setConfig] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const [report, setReport] = useState(null);
  const load = async () => {
    const r = await api('GET', `/api/installer/sites/${siteId}`);
    if (r.ok) setSite(r.body);
  };
  useEffect(() => {
    load();
    setConfig(null);
    setReport(null);
    setSay(null);
  }, [siteId]);
  const tell = (ok, text) => setSay({ ok, text });
  const credentials = async (replace = false) => {
    setConfirm(null);
    const r = await api(
      'POST',
      `/api/installer/sites/${siteId}/gateway-credentials`,
      replace ? { replace: true } : {},
    );
    if (r.status === 409 && r.body.confirm === 'replace') return setConfirm(r.body);
    if (!r.ok) return tell(false, refusal(r));
    setConfig(
      JSON.stringify(
        { siteId: r.body.siteId, gatewayId: r.body.gatewayId, central: r.body.central },
        null,
        2,
      ),
    );
    tell(
      true,
      'Paste this into the gateway configuration. The secret is shown once; asking again issues a new one.',
    );
    return undefined;
  };
  const walk = async (on) => {
    const r = await api('POST', `/api/installer/sites/${siteId}/walk-test`, { on });
    tell(
      r.ok,
      r.ok ? (on ? 'Walk test requested: trigger every device.' : 'Walk test stop requested.') : refusal(r),
    );
  };
  const commissioning = async () => {
    const r = await api('GET', `/api/installer/sites/${siteId}/commissioning`);
    if (!r.ok) return tell(false, refusal(r));
    setReport(r.body);
    tell(
      r.body.passed,
      r.body.passed ? 'Commissioning complete: the site may be activated.' : 'Commissioning incomplete.',
    );
    return undefined;
  };
  const activate = async () => {
    const r = await api('POST', `/api/installer/sites/${siteId}/activate`);
    tell(r.ok, r.ok ? `Site active: the ${r.body.testPeriodDays}-day test period has started.` : refusal(r));
    if (r.ok) {
      load();
      onChanged();
    }
  };
  if (!site) return null;
  return html`<section class="card" id="site" aria-labelledby="site-title">
    <h2 id="site-title">${site.name} (${site.id})</h2>
    <div id="site-status"><div>Status: ${site.status}</div>${site.testPeriodEnds ? html`<div class="muted">Test period until ${dateTimeOf(site.testPeriodEnds)}</div>` : null}</div>
    <div class="row">
      <button type="button" class="btn" onClick=${() => credentials()}>Gateway credentials</button>
      <button type="button" class="btn" onClick=${() => walk(true)}>Start walk test</button>
      <button type="button" class="btn" onClick=${() => walk(false)}>Stop walk test</button>
      <button type="button" class="btn" onClick=${commissioning}>Commissioning report</button>
      <button type="button" class="btn primary" onClick=${activate}>Activate site</button>
    </div>
    ${
      confirm
        ? html`<div class="notice error" role="alertdialog" aria-label="Replace the gateway secret">
          <span>${confirm.error.charAt(0).toUpperCase() + confirm.error.slice(1)}. Replace it?</span>
          <span class="row"><button type="button" class="btn danger" onClick=${() => credentials(true)}>Replace the secret</button><button type="button" class="btn small" onClick=${() => setConfirm(null)}>Keep the current one</button></span>
        </div>`
        : null
    }
    ${say ? html`<div class=${say.ok ? 'notice ok' : 'notice error'} role=${say.ok ? 'status' : 'alert'}>${say.text}</div>` : null}
    ${config ? html`<pre id="config">${config}</pre>` : null}
    <${WalkTest} siteId=${siteId} />
    ${
      report
        ? html`<table aria-label="Commissioning report" id="report"><thead><tr><th>Check</th><th>Result</th><th>Detail</th></tr></thead>
          <tbody>${report.checks.map((c) => html`<tr key=${c.name}><td>${c.name}</td><td class=${c.ok ? 'yes' : 'no'}>${c.ok ? 'ok' : 'not yet'}</td><td>${c.detail}</td></tr>`)}</tbody></table>`
        : null
    }
  </section>`;
}

const lines = (text) =>
  String(text)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.split(',').map((f) => f.trim()));

function Submit({ onDone }) {
  const [say, setSay] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const devices = lines(f.get('devices')).map(([id, name, type, zone, area]) => ({
      id,
      name,
      type,
      zone: Number(zone),
      area: Number(area ?? 1),
    }));
    const contacts = lines(f.get('contacts')).map(([name, role, order, phone]) => ({
      name,
      role,
      order: Number(order ?? 1),
      ...(phone ? { phone } : {}),
    }));
    const body = {
      id: f.get('id'),
      name: f.get('name'),
      address: f.get('address'),
      kind: f.get('kind'),
      timeZone: f.get('timeZone'),
      gatewayId: f.get('gatewayId'),
      devices,
      contacts,
    };
    const r = await api('POST', '/api/installer/sites', body);
    setSay(
      r.ok
        ? { ok: true, text: `Submitted ${r.body.id}: the central will review and register it.` }
        : { ok: false, text: refusal(r) },
    );
    if (r.ok) onDone();
  };
  return html`<section class="card" aria-labelledby="submit-title"><h2 id="submit-title">Submit a site</h2>
    <form id="submit" aria-label="Submit a site" onSubmit=${submit}>
      <div class="grid-form">
        <label>Site id <input name="id" required pattern="[A-Za-z0-9][A-Za-z0-9_-]*" /></label>
        <label>Name <input name="name" required /></label>
        <label>Address <input name="address" required /></label>
        <label>Kind <select name="kind"><option value="residential">residential</option><option value="business">business</option></select></label>
        <label>Time zone <input name="timeZone" defaultValue="Europe/Amsterdam" /></label>
        <label>Gateway id <input name="gatewayId" required /></label>
        <label class="wide">Devices, one per line: id, name, type, zone, area<textarea name="devices" rows="5" placeholder="front-door, Front door, contact, 1, 1"></textarea></label>
        <label class="wide">Contacts, one per line: name, role (authorised/keyholder), order, phone<textarea name="contacts" rows="3" placeholder="Anna de Vries, authorised, 1, +31 6 1111 1111"></textarea></label>
      </div>
      <button type="submit" class="btn primary">Submit site</button>
      ${say ? html`<div class=${say.ok ? 'notice ok' : 'notice error'} role=${say.ok ? 'status' : 'alert'}>${say.text}</div>` : null}
    </form>
  </section>`;
}

function Portal({ me, onLogout }) {
  const [sites, setSites] = useState([]);
  const [open, setOpen] = useState(null);
  const load = async () => {
    const r = await api('GET', '/api/installer/sites');
    if (r.ok) setSites(r.body.sites);
  };
  useEffect(() => {
    load();
  }, []);
  return html`<header><h1>Vigil — installer portal</h1><span id="who">${me.displayName}</span><button type="button" id="logout" class="btn small" onClick=${onLogout}>Log out</button></header>
    <main class="installer">
      <${Sites} sites=${sites} onOpen=${setOpen} />
      ${open ? html`<${Site} key=${open} siteId=${open} onChanged=${load} />` : null}
      <${Submit} onDone=${load} />
    </main>`;
}

function App() {
  const { me, message, enter, logout } = useSession(['installer'], 'This portal is for installers.');
  if (me === undefined) return html`<header><h1>Vigil — installer portal</h1></header>`;
  if (me === null)
    return html`<header><h1>Vigil — installer portal</h1></header><main><${Login} title="Installer login" onIn=${enter} message=${message} /></main>`;
  return html`<${Portal} key=${me.username} me=${me} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
