// What an operator needs to know about a site: address, formula, test mode, cards, contacts in call
// order, zones and the latest events. Shown on an incident and in site management.
import { html } from '../lib/html.js';
import { dateTimeOf, timeOf } from '../lib/time.js';
import { eventWords } from '../lib/words.js';

export function SiteBadges({ site }) {
  const inTest = site.testModeUntil && Date.parse(site.testModeUntil) > Date.now();
  const status = site.status ?? {};
  return html`<div class="row badges">
    ${inTest ? html`<span class="badge yellow">IN TEST until ${dateTimeOf(site.testModeUntil)}</span>` : null}
    ${
      status.policeBlockedUntil
        ? html`<span class="badge red">Red card: no police until ${new Date(status.policeBlockedUntil).toLocaleDateString()}</span>`
        : status.yellowCardAt
          ? html`<span class="badge yellow">Yellow card</span>`
          : null
    }
    ${status.falseAlarmsInThreeMonths !== undefined ? html`<span class="badge">${status.falseAlarmsInThreeMonths} false alarm(s) in 3 months</span>` : null}
    ${status.handlingsThisYear !== undefined ? html`<span class="badge">handlings ${status.handlingsThisYear}/${status.includedHandlings ?? '—'} this year</span>` : null}
  </div>`;
}

export function SiteCard({ site }) {
  return html`<div id="site-card">
    <div>${site.address} · ${site.kind} · formula ${site.formula}</div>
    ${site.premisesPhone ? html`<div>Premises: <a href=${`tel:${site.premisesPhone}`}>${site.premisesPhone}</a></div>` : null}
    <${SiteBadges} site=${site} />
    <div class="muted">Contacts in call order</div>
    <ol class="compact">${site.contacts.map((c, i) => html`<li key=${i}>${c.name} (${c.role}) ${c.phone ?? c.mobile ?? ''}</li>`)}</ol>
    <div class="muted">Zones</div>
    <ul class="compact">${site.devices.map((d) => html`<li key=${d.id}>zone ${d.zone}: ${d.name} (${d.type}${d.area && d.area !== 1 ? `, area ${d.area}` : ''})</li>`)}</ul>
    <div class="muted">Recent events</div>
    <ul class="compact">${site.history.slice(0, 8).map((h, i) => html`<li key=${i}><time>${timeOf(h.occurredAt)}</time> ${eventWords(h.eventType, h.qualifier)}${h.zone ? ` · zone ${h.zone}` : ''}</li>`)}</ul>
  </div>`;
}
