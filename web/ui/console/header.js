// The console's header: views, site search, waiting counts per class (also in the tab title and
// icon), the sound control, who is logged in and whether the queue is live.
import { api } from '../lib/api.js';
import { html, useEffect, useRef, useState } from '../lib/html.js';
import { dateTimeOf } from '../lib/time.js';
import { CLASSES, eventWords } from '../lib/words.js';
import { ALERT_TONES } from './alert.js';

const TITLE = 'Vigil — operator console';

/** The number of incidents waiting for an operator, on the tab: seen from another tab or screen. */
export function useTabBadge(waiting) {
  useEffect(() => {
    document.title = waiting ? `(${waiting}) ${TITLE}` : TITLE;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 32;
    const g = canvas.getContext('2d');
    g.fillStyle = waiting ? '#c62828' : '#546e7a';
    g.beginPath();
    g.arc(16, 16, 16, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = '#fff';
    g.font = 'bold 18px sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(waiting > 99 ? '99' : String(waiting), 16, 17);
    let icon = document.querySelector('link[rel="icon"]');
    if (!icon) {
      icon = document.createElement('link');
      icon.rel = 'icon';
      document.head.append(icon);
    }
    icon.href = canvas.toDataURL('image/png');
  }, [waiting]);
}

export function Counts({ perClass }) {
  return html`<span id="counts">
    ${CLASSES.filter(([cls]) => perClass[cls]).map(
      ([cls, name]) =>
        html`<span key=${cls} class=${`count ${cls}`} title=${`${name}: ${perClass[cls]} waiting for an operator`}>${name} ${perClass[cls]}</span>`,
    )}
    ${Object.keys(perClass).length === 0 ? html`<span class="count none" title="No incident waiting for an operator">none waiting</span>` : null}
  </span>`;
}

export function SoundControl({ muted, onChange, blocked }) {
  const [open, setOpen] = useState(false);
  const all = Object.keys(ALERT_TONES);
  const on = all.filter((c) => !muted.has(c));
  return html`<span class="sound">
    <button type="button" class=${`btn small ${on.length ? '' : 'off'}`} aria-expanded=${String(open)} onClick=${() => setOpen(!open)} title="Which classes sound an alert while unclaimed">
      ${blocked ? 'Sound: click to enable' : on.length === all.length ? 'Sound on' : on.length ? `Sound: ${on.length} of ${all.length}` : 'Sound off'}
    </button>
    ${
      open
        ? html`<div class="menu" role="group" aria-label="Alert sound per class">
          ${CLASSES.map(
            ([cls, name]) =>
              html`<label key=${cls} class="check"><input type="checkbox" aria-label=${`Sound for ${name}`} checked=${!muted.has(cls)} onChange=${(
                e,
              ) => {
                const next = new Set(muted);
                if (e.currentTarget.checked) next.delete(cls);
                else next.add(cls);
                onChange(next);
              }} /> ${name}</label>`,
          )}
        </div>`
        : null
    }
  </span>`;
}

export function SiteSearch({ onSite, onAlarm }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const timer = useRef(null);
  useEffect(() => {
    clearTimeout(timer.current);
    if (q.trim().length < 2) {
      setResults(null);
      return undefined;
    }
    timer.current = setTimeout(async () => {
      const r = await api('GET', `/api/search?q=${encodeURIComponent(q.trim())}`);
      if (r.ok) setResults(r.body.sites);
    }, 150);
    return () => clearTimeout(timer.current);
  }, [q]);
  const close = () => setResults(null);
  return html`<span class="search">
    <input id="search" type="search" placeholder="Search sites (/)"
      title="Name, address, phone, contact, account or gateway" aria-label="Search sites" value=${q} onInput=${(e) => setQ(e.currentTarget.value)}
      onKeyDown=${(e) => {
        if (e.key !== 'Escape') return;
        close();
        e.currentTarget.blur();
      }} />
    ${
      results
        ? html`<div id="search-results" role="listbox" aria-label="Search results">
          ${results.length === 0 ? html`<div>No site matches.</div>` : null}
          ${results.map(
            (s) => html`<div key=${s.id} role="option">
            <a href="#" onClick=${(e) => {
              e.preventDefault();
              close();
              onSite(s.id);
            }}><strong>${s.name} (${s.id})</strong></a> ${s.address}
            ${s.matched ? html`<div class="muted">matched: ${s.matched}</div>` : null}
            <ul class="compact">${s.alarms.map(
              (x) =>
                html`<li key=${x.alarmId}><a href="#" onClick=${(e) => {
                  e.preventDefault();
                  close();
                  onAlarm(x.alarmId);
                }}>${eventWords(x.eventType)} · ${x.status} · ${dateTimeOf(x.openedAt)}</a></li>`,
            )}</ul>
          </div>`,
          )}
        </div>`
        : null
    }
  </span>`;
}
