// Site management without an alarm: every site (or those in test, in an outage, offline, submitted),
// a site's card, its records and contacts (changed on an authorised person's code or a written
// request, both recorded), test mode and installer windows; regional outages, accounts, DC-09 accounts.

import { useAnswer } from '../lib/answer.js';
import { api, refusal, useList } from '../lib/api.js';
import { html, useEffect, useState } from '../lib/html.js';
import { dateTimeOf } from '../lib/time.js';
import { eventWords } from '../lib/words.js';
import { SiteCard } from './site-card.js';

const FILTERS = [
  ['all', 'All sites'],
  ['test', 'In test'],
  ['outage', 'Regional outage'],
  ['offline', 'Gateway offline'],
  ['submitted', 'Submitted'],
];

/** On whose authority: an authorised person on the phone (code checked), or a written request. */
function AuthorityFields({ me }) {
  const [kind, setKind] = useState('phone');
  return html`<fieldset class="authority"><legend>On whose authority</legend>
    <select name="authority" aria-label="Authority" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
      <option value="phone">Authorised person on the phone</option>
      ${me.role === 'supervisor' ? html`<option value="written">Written request</option>` : null}
    </select>
    ${
      kind === 'phone'
        ? html`<input name="idCode" aria-label="Caller's ID code" placeholder="ID code" inputmode="numeric" size="7" required autocomplete="off" />
          <input name="pin" type="password" aria-label="Caller's PIN" placeholder="PIN" inputmode="numeric" size="6" required autocomplete="off" />`
        : html`<input name="reference" aria-label="Request reference" placeholder="Reference of the letter" size="20" required />`
    }
  </fieldset>`;
}

const authorityFrom = (f) =>
  f.get('authority') === 'written'
    ? { authority: 'written', reference: f.get('reference') }
    : { authority: 'phone', idCode: f.get('idCode'), pin: f.get('pin') };

function Contact({ siteId, contact: c, me, onChanged }) {
  const [editing, setEditing] = useState(false);
  const [view, show] = useAnswer();
  const save = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const changes = {};
    for (const key of ['name', 'phone', 'mobile', 'email']) {
      const value = String(f.get(key) ?? '').trim();
      if (value !== (c[key] ?? '')) changes[key] = value || null;
    }
    const order = Number(f.get('order'));
    if (order !== c.order) changes.order = order;
    if (changes.name === null) delete changes.name;
    const r = await api('PATCH', `/api/sites/${siteId}/contacts/${c.id}`, {
      changes,
      authority: authorityFrom(f),
    });
    show(r, `${c.name} changed.`);
    if (r.ok) {
      setEditing(false);
      onChanged();
    }
  };
  const remove = async (e) => {
    e.preventDefault();
    const r = await api('DELETE', `/api/sites/${siteId}/contacts/${c.id}`, {
      authority: authorityFrom(new FormData(e.currentTarget.form)),
    });
    show(r, `${c.name} removed.`);
    if (r.ok) onChanged();
  };
  return html`<li class="contact">
    <div class="row spread"><span><strong>${c.name}</strong> (${c.role}, call ${c.order}) ${c.phone ?? ''} ${c.mobile ?? ''} ${c.email ?? ''}
      ${c.locked ? html`<span class="badge red">code locked</span>` : null}${c.pinMustChange ? html`<span class="badge">first PIN not changed</span>` : null}</span>
      <button type="button" class="btn small" onClick=${() => setEditing(!editing)}>${editing ? 'Cancel' : `Change ${c.name}`}</button></div>
    ${
      editing
        ? html`<form class="grid-form" aria-label=${`Change contact ${c.name}`} onSubmit=${save}>
          <label>Name <input name="name" defaultValue=${c.name} required /></label>
          <label>Call order <input name="order" type="number" min="1" max="10" defaultValue=${c.order} /></label>
          <label>Phone <input name="phone" defaultValue=${c.phone ?? ''} /></label>
          <label>Mobile <input name="mobile" defaultValue=${c.mobile ?? ''} /></label>
          <label>E-mail <input name="email" type="email" defaultValue=${c.email ?? ''} /></label>
          <${AuthorityFields} me=${me} />
          <div class="row"><button type="submit" class="btn primary">Save contact</button><button type="button" class="btn danger" onClick=${remove}>Remove contact</button></div>
        </form>`
        : null
    }
    ${view}
  </li>`;
}

function TestMode({ site, me, onChanged }) {
  const [view, show] = useAnswer();
  const inTest = site.testModeUntil && Date.parse(site.testModeUntil) > Date.now();
  const start = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const r = await api('PUT', `/api/sites/${site.id}/test-mode`, {
      ...authorityFrom(f),
      minutes: Number(f.get('minutes')),
    });
    show(r, 'Test mode on.');
    if (r.ok) onChanged();
  };
  const end = async () => {
    const r = await api('DELETE', `/api/sites/${site.id}/test-mode`);
    show(r, 'Test mode ended.');
    if (r.ok) onChanged();
  };
  return html`<div>
    ${
      inTest
        ? html`<div class="row"><span class="badge yellow">In test until ${dateTimeOf(site.testModeUntil)}</span><button type="button" class="btn" onClick=${end}>End test mode now</button></div>`
        : html`<form class="grid-form" aria-label="Start test mode" onSubmit=${start}>
          <label>Minutes <input name="minutes" type="number" min="1" max="1440" defaultValue="60" required /></label>
          <${AuthorityFields} me=${me} />
          <button type="submit" class="btn">Start test mode</button>
        </form>`
    }
    ${view}
  </div>`;
}

function Records({ site, me, onChanged }) {
  const [view, show] = useAnswer();
  if (me.role !== 'supervisor') return html`<p class="muted">Supervisors change a site's records.</p>`;
  const save = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const entered = {
      kind: f.get('kind'),
      formula: f.get('formula'),
      premisesPhone: f.get('premisesPhone') || null,
      region: f.get('region') || null,
      testIntervalMinutes: Number(f.get('testIntervalMinutes')),
      mainsDelayMinutes: Number(f.get('mainsDelayMinutes')),
    };
    // Only what was changed is sent (and audited): the rest of the record stays as it is.
    const changed = Object.fromEntries(
      Object.entries(entered).filter(([key, value]) => value !== (site[key] ?? null)),
    );
    if (Object.keys(changed).length === 0) return show({ ok: true }, 'Nothing changed.');
    const r = await api('PATCH', `/api/sites/${site.id}`, { requestedBy: f.get('requestedBy'), ...changed });
    show(r, 'Site records saved.');
    if (r.ok) onChanged();
  };
  return html`<form class="grid-form" aria-label="Site records" onSubmit=${save}>
    <label>Kind <select name="kind">${['residential', 'business'].map((k) => html`<option selected=${site.kind === k}>${k}</option>`)}</select></label>
    <label>Formula <select name="formula">${['APP', 'MIX', 'FULL'].map((f) => html`<option selected=${site.formula === f}>${f}</option>`)}</select></label>
    <label>Premises phone <input name="premisesPhone" defaultValue=${site.premisesPhone ?? ''} /></label>
    <label>Region <input name="region" defaultValue=${site.region ?? ''} /></label>
    <label>Test report every (min) <input name="testIntervalMinutes" type="number" min="5" defaultValue=${site.testIntervalMinutes ?? 1440} /></label>
    <label>Mains wait (min) <input name="mainsDelayMinutes" type="number" min="0" max="240" defaultValue=${site.mainsDelayMinutes ?? 0} /></label>
    <label class="wide">Requested by <input name="requestedBy" placeholder="who asked, and how (caller checked, letter ref.)" required /></label>
    <button type="submit" class="btn primary">Save records</button>
    ${view}
  </form>`;
}

function InstallerWindow({ site }) {
  const [view, show] = useAnswer();
  const open = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const r = await api('POST', `/api/sites/${site.id}/installer-access`, {
      hours: Number(f.get('hours')),
      reason: f.get('reason'),
    });
    show(r, r.ok ? `Installer window open until ${dateTimeOf(r.body.installerAccessUntil)}.` : '');
  };
  return html`<form class="row" aria-label="Installer service window" onSubmit=${open}>
    <input name="hours" type="number" min="1" max="24" defaultValue="4" aria-label="Hours" size="3" />
    <input name="reason" placeholder="Reason (who asked)" aria-label="Reason for the window" required size="26" />
    <button type="submit" class="btn">Open installer window</button>
    ${view}
  </form>`;
}

function SiteDetail({ siteId, me, onAlarm, onListChanged }) {
  const [card, setCard] = useState(null);
  const [site, setSite] = useState(null);
  const [contacts, setContacts] = useState([]);
  const [error, setError] = useState('');
  const load = async () => {
    const [c, s, k] = await Promise.all([
      api('GET', `/api/sites/${siteId}/card`),
      api('GET', `/api/sites/${siteId}`),
      api('GET', `/api/sites/${siteId}/contacts`),
    ]);
    if (!c.ok) return setError(refusal(c));
    setCard(c.body);
    setSite(s.body);
    setContacts(k.ok ? k.body.contacts : []);
    return undefined;
  };
  const changed = () => {
    load();
    onListChanged();
  };
  useEffect(() => {
    load();
  }, [siteId]);
  if (error) return html`<div class="error" role="alert">${error}</div>`;
  if (!card || !site) return html`<div class="muted">Loading…</div>`;
  return html`<article class="card site-detail" aria-label=${`Site ${card.id}`}>
    <h2>${card.name} (${card.id})</h2>
    <${SiteCard} site=${card} />
    ${
      card.openAlarms.length
        ? html`<div class="row">${card.openAlarms.map((a) => html`<button type="button" key=${a.alarmId} class="btn small" onClick=${() => onAlarm(a.alarmId)}>Open incident: ${eventWords(a.eventType)} (${a.status})</button>`)}</div>`
        : null
    }
    <h3>Contacts</h3>
    <ul class="contacts">${contacts.map((c) => html`<${Contact} key=${c.id} siteId=${card.id} contact=${c} me=${me} onChanged=${changed} />`)}</ul>
    <h3>Test mode</h3><${TestMode} site=${site} me=${me} onChanged=${changed} />
    <h3>Records</h3><${Records} site=${site} me=${me} onChanged=${changed} />
    <h3>Arming schedule</h3><${Schedule} site=${site} me=${me} onChanged=${changed} />
    <h3>Installer</h3>${site.installer ? html`<div>${site.installer.company}, ${site.installer.name} ${site.installer.phone ?? ''}</div>` : html`<div class="muted">No installer on record.</div>`}
    <${InstallerWindow} site=${site} />
  </article>`;
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** The opening hours per ISO weekday (a day left empty is closed), the margin and the night check. */
function Schedule({ site, me, onChanged }) {
  const [view, show] = useAnswer();
  const schedule = site.schedule;
  if (me.role !== 'supervisor')
    return schedule
      ? html`<table class="schedule" aria-label="Arming schedule"><thead><tr>${DAYS.map((d) => html`<th>${d}</th>`)}</tr></thead>
          <tbody><tr>${DAYS.map((_, i) => {
            const day = schedule.open?.[String(i + 1)];
            return html`<td>${day ? `open ${day.from}–${day.to}` : 'closed'}</td>`;
          })}</tr></tbody></table>`
      : html`<p class="muted">No arming schedule.</p>`;
  const save = async (e, remove = false) => {
    e.preventDefault();
    const form = e.currentTarget.form ?? e.currentTarget;
    const f = new FormData(form);
    const open = {};
    DAYS.forEach((_, i) => {
      const from = f.get(`from-${i + 1}`);
      const to = f.get(`to-${i + 1}`);
      if (from && to) open[String(i + 1)] = { from, to };
    });
    const next = remove
      ? null
      : { marginMinutes: Number(f.get('margin')), open, nightCheck: f.get('nightCheck') || null };
    const r = await api('PATCH', `/api/sites/${site.id}`, {
      requestedBy: f.get('requestedBy') || undefined,
      schedule: next,
    });
    show(r, remove ? 'Schedule removed.' : 'Schedule saved: judged from now on.');
    if (r.ok) onChanged();
  };
  return html`<form class="schedule-form" aria-label="Arming schedule" onSubmit=${save}>
    <table class="schedule"><thead><tr><th></th>${DAYS.map((d) => html`<th>${d}</th>`)}</tr></thead>
      <tbody>
        <tr><th>open from</th>${DAYS.map((d, i) => html`<td><input type="time" name=${`from-${i + 1}`} aria-label=${`${d} open from`} defaultValue=${schedule?.open?.[String(i + 1)]?.from ?? ''} /></td>`)}</tr>
        <tr><th>until</th>${DAYS.map((d, i) => html`<td><input type="time" name=${`to-${i + 1}`} aria-label=${`${d} open until`} defaultValue=${schedule?.open?.[String(i + 1)]?.to ?? ''} /></td>`)}</tr>
      </tbody></table>
    <div class="grid-form">
      <label>Margin (min) <input name="margin" type="number" min="0" max="120" defaultValue=${schedule?.marginMinutes ?? 15} /></label>
      <label>Night check (22:00–24:00) <input name="nightCheck" type="time" min="22:00" defaultValue=${schedule?.nightCheck ?? ''} /></label>
      <label class="wide">Requested by <input name="requestedBy" placeholder="who asked, and how" required /></label>
    </div>
    <div class="row"><button type="submit" class="btn primary">Save schedule</button>${schedule ? html`<button type="button" class="btn danger" onClick=${(e) => save(e, true)}>Remove schedule</button>` : null}</div>
    ${view}
  </form>`;
}

function SiteList({ me, siteId, onOpen, onAlarm }) {
  const [filter, setFilter] = useState('all');
  const [q, setQ] = useState('');
  const [sites, setSites] = useState(null);
  // A change on the open site (test mode, records) may move it in or out of the filtered list.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const timer = setTimeout(async () => {
      const params = new URLSearchParams({ filter });
      if (q.trim()) params.set('q', q.trim());
      const r = await api('GET', `/api/sites?${params}`);
      if (r.ok) setSites(r.body.sites);
    }, 150);
    return () => clearTimeout(timer);
  }, [filter, q, version]);
  return html`<div class="sites">
    <div class="card site-list">
      <div class="row">${FILTERS.map(([id, name]) => html`<button type="button" key=${id} class=${`btn small${filter === id ? ' on' : ''}`} aria-pressed=${String(filter === id)} onClick=${() => setFilter(id)}>${name}</button>`)}</div>
      <input type="search" aria-label="Filter sites" placeholder="name, id or address" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <table aria-label="Sites"><thead><tr><th>Site</th><th>Address</th><th>State</th></tr></thead>
        <tbody>${(sites ?? []).map(
          (
            s,
          ) => html`<tr key=${s.id} class=${`site-row${s.id === siteId ? ' selected' : ''}`} aria-selected=${String(s.id === siteId)} onClick=${() => onOpen(s.id)}>
          <td><a href="#" onClick=${(e) => e.preventDefault()}>${s.name}</a><div class="muted">${s.id}</div></td><td>${s.address}</td>
          <td>${s.testModeUntil && Date.parse(s.testModeUntil) > Date.now() ? html`<span class="badge yellow">in test</span>` : null}
            ${s.regionalOutage ? html`<span class="badge">outage</span>` : null}
            ${s.gateways && !s.online ? html`<span class="badge red">offline</span>` : null}
            ${s.status !== 'active' ? html`<span class="badge">${s.status}</span>` : null}
            ${s.openAlarms ? html`<span class="badge claimed">${s.openAlarms} open</span>` : null}</td></tr>`,
        )}</tbody></table>
      ${sites && sites.length === 0 ? html`<p class="muted">No site.</p>` : null}
    </div>
    ${siteId ? html`<${SiteDetail} key=${siteId} siteId=${siteId} me=${me} onAlarm=${onAlarm} onListChanged=${() => setVersion((v) => v + 1)} />` : html`<div class="card muted">Choose a site.</div>`}
  </div>`;
}

function Outages({ me }) {
  const [list, load] = useList('/api/regional-outages', 'outages');
  const [view, show] = useAnswer();
  const declare = async (e) => {
    e.preventDefault();
    const region = new FormData(e.currentTarget).get('region');
    const r = await api('PUT', `/api/regional-outages/${encodeURIComponent(region)}`);
    show(r, r.ok ? `Outage in ${region} recorded (${r.body.sites} sites).` : '');
    load();
  };
  const end = async (region) => {
    const r = await api('DELETE', `/api/regional-outages/${encodeURIComponent(region)}`);
    show(r, `Outage in ${region} ended.`);
    load();
  };
  return html`<section class="card" aria-label="Regional outages"><h2>Regional power outages</h2>
    <table><thead><tr><th>Region</th><th>Since</th><th>By</th><th>Sites</th><th></th></tr></thead>
      <tbody>${(list ?? []).map(
        (
          o,
        ) => html`<tr key=${o.region}><td>${o.region}</td><td>${dateTimeOf(o.startedAt)}</td><td>${o.startedBy}</td><td>${o.sites}</td>
        <td>${me.role === 'supervisor' ? html`<button type="button" class="btn small" onClick=${() => end(o.region)}>End outage ${o.region}</button>` : null}</td></tr>`,
      )}</tbody></table>
    ${list?.length === 0 ? html`<p class="muted">No known outage.</p>` : null}
    ${me.role === 'supervisor' ? html`<form class="row" aria-label="Record an outage" onSubmit=${declare}><input name="region" aria-label="Region" placeholder="region, e.g. NL-AMS-12" required /><button type="submit" class="btn">Record outage</button></form>` : null}
    ${view}
  </section>`;
}

function Accounts() {
  const [list, load] = useList('/api/accounts', 'accounts');
  const [view, show] = useAnswer();
  const create = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = Object.fromEntries(new FormData(form));
    for (const key of ['siteId', 'installerId']) if (!f[key]) delete f[key];
    const r = await api('POST', '/api/accounts', f);
    show(r, `Account ${f.username} saved.`);
    if (r.ok) {
      form.reset();
      load();
    }
  };
  return html`<section class="card" aria-label="Accounts"><h2>Accounts</h2>
    <table><thead><tr><th>Username</th><th>Name</th><th>Role</th><th>Scope</th><th>Last login</th></tr></thead>
      <tbody>${(list ?? []).map((a) => html`<tr key=${a.username}><td>${a.username}</td><td>${a.displayName}</td><td>${a.role}</td><td>${a.siteId ?? (a.installerId ? `installer ${a.installerId}` : '—')}</td><td>${dateTimeOf(a.lastLogin)}</td></tr>`)}</tbody></table>
    <h3>New account, or a new password for one</h3>
    <form class="grid-form" aria-label="New account" onSubmit=${create}>
      <label>Username <input name="username" required pattern="[a-z0-9._-]{3,60}" /></label>
      <label>Name <input name="displayName" required /></label>
      <label>Role <select name="role"><option>operator</option><option>supervisor</option><option>installer</option><option>customer</option></select></label>
      <label>Password <input name="password" type="password" minlength="10" required autocomplete="new-password" /></label>
      <label>Site (customers) <input name="siteId" /></label>
      <label>Installer id (installers) <input name="installerId" /></label>
      <button type="submit" class="btn primary">Save account</button>
    </form>
    ${view}
  </section>`;
}

function Dc09Accounts() {
  const [list, load] = useList('/api/dc09-accounts', 'accounts');
  const [view, show] = useAnswer();
  const add = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = Object.fromEntries(new FormData(form));
    const body = { account: f.account, siteId: f.siteId };
    if (f.prefix) body.prefix = f.prefix;
    if (f.key) Object.assign(body, { key: f.key, keyFormat: f.keyFormat });
    if (f.supervisionSeconds) body.supervisionSeconds = Number(f.supervisionSeconds);
    const r = await api('POST', '/api/dc09-accounts', body);
    show(r, `Account ${f.account} saved.`);
    if (r.ok) {
      form.reset();
      load();
    }
  };
  return html`<section class="card" aria-label="DC-09 accounts"><h2>DC-09 accounts</h2>
    <table><thead><tr><th>Prefix</th><th>Account</th><th>Site</th><th>Path</th><th>Supervised every</th><th>Encrypted</th></tr></thead>
      <tbody>${(list ?? []).map((a) => html`<tr key=${`${a.prefix}-${a.account}`}><td>${a.prefix}</td><td>${a.account}</td><td>${a.siteId}</td><td>${a.path}</td><td>${a.supervisionSeconds ? `${a.supervisionSeconds} s` : '—'}</td><td>${a.encrypted ? `yes (${a.keyFormat})` : 'no'}</td></tr>`)}</tbody></table>
    <form class="grid-form" aria-label="New DC-09 account" onSubmit=${add}>
      <label>Account <input name="account" required pattern="[0-9A-Fa-f]{3,16}" /></label>
      <label>Prefix <input name="prefix" pattern="[0-9A-Fa-f]{1,6}" placeholder="0" /></label>
      <label>Site <input name="siteId" required /></label>
      <label>Key <input name="key" autocomplete="off" /></label>
      <label>Key format <select name="keyFormat"><option value="hex">hex</option><option value="ascii">ascii</option></select></label>
      <label>Supervision (s) <input name="supervisionSeconds" type="number" min="10" /></label>
      <button type="submit" class="btn primary">Save DC-09 account</button>
    </form>
    ${view}
  </section>`;
}

const TABS = [
  ['sites', 'Sites', false],
  ['outages', 'Regional outages', false],
  ['accounts', 'Accounts', true],
  ['dc09', 'DC-09 accounts', true],
];

export function SitesView({ me, siteId, onOpen, onAlarm }) {
  const [tab, setTab] = useState('sites');
  return html`<section id="sites-view">
    <div class="tabs" role="tablist">${TABS.filter(([, , sup]) => !sup || me.role === 'supervisor').map(([id, name]) => html`<button type="button" role="tab" key=${id} class=${`tab${tab === id ? ' on' : ''}`} aria-selected=${String(tab === id)} onClick=${() => setTab(id)}>${name}</button>`)}</div>
    ${tab === 'sites' ? html`<${SiteList} me=${me} siteId=${siteId} onOpen=${onOpen} onAlarm=${onAlarm} />` : null}
    ${tab === 'outages' ? html`<${Outages} me=${me} />` : null}
    ${tab === 'accounts' ? html`<${Accounts} />` : null}
    ${tab === 'dc09' ? html`<${Dc09Accounts} />` : null}
  </section>`;
}
