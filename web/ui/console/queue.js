// The alarm stack: incidents for an operator now ("Active", by priority then age) apart from those
// the system is waiting on ("Waiting": for a restore, an SMS reply, the action window), each with its
// reason and when it wakes. Rows are keyed and only redrawn when their incident changes.
import { Component, html } from '../lib/html.js';
import { clock, wakeOf } from '../lib/time.js';
import { whereWords } from '../lib/words.js';
import { flashedAt } from './feed.js';

const FLASH_MS = 1500;
const WARN_S = 60;
const LATE_S = 180;

/** The ages of every row tick together, once a second, without hooks (1,000 rows stay cheap). */
const ages = new Set();
let ageTimer = null;

class Age extends Component {
  componentDidMount() {
    ages.add(this);
    ageTimer ??= setInterval(() => {
      for (const age of ages) age.forceUpdate();
    }, 1000);
  }

  componentWillUnmount() {
    ages.delete(this);
    if (ages.size === 0) {
      clearInterval(ageTimer);
      ageTimer = null;
    }
  }

  render({ since, live }) {
    const seconds = (Date.now() - Date.parse(since)) / 1000;
    const cls = !live ? 'age stale' : seconds >= LATE_S ? 'age late' : seconds >= WARN_S ? 'age warn' : 'age';
    return html`<span class=${cls} title=${live ? '' : 'not live: the connection to the central is lost'}>${clock(seconds)}</span>`;
  }
}

export function stepWords(p) {
  if (!p) return 'no step pending';
  return p.label.charAt(0).toUpperCase() + p.label.slice(1);
}

class Row extends Component {
  shouldComponentUpdate(next) {
    return (
      next.alarm !== this.props.alarm ||
      next.selected !== this.props.selected ||
      next.live !== this.props.live ||
      next.alarm.alarmId !== this.props.alarm.alarmId
    );
  }

  render({ alarm: a, selected, live, waiting, onSelect }) {
    // Flashes once when it arrives or escalates (the animation runs when the class first appears).
    const fresh = Date.now() - (flashedAt.get(a.alarmId) ?? 0) < FLASH_MS;
    const cls = `alarm ${a.class}${a.escalation ? ` escalated-${a.escalation}` : ''}${fresh ? ' fresh' : ''}`;
    return html`<tr role="row" class=${cls} tabindex="-1" aria-selected=${String(selected)} data-alarm-id=${a.alarmId} data-event-id=${a.eventId} onClick=${() => onSelect(a.alarmId)}>
      <td role="cell" class="prio"><span class=${`pill ${a.class}`}>${a.priority}</span></td>
      <td role="cell" class="num"><${Age} since=${a.openedAt} live=${live} /></td>
      <td role="cell" class="what" title=${a.title}>
        <strong>${a.title}</strong>
        ${a.verified ? html` <span class="badge verified" title=${a.verificationRule ?? ''}>verified</span>` : null}
        ${a.events > 1 ? html` <span class="badge">${a.events} events</span>` : null}
        ${a.escalation ? html` <span class=${`badge escalation ${a.escalation}`}>${a.escalation}</span>` : null}
      </td>
      <td role="cell" class="site" title=${`${a.siteName} (${a.siteId}) · ${a.siteAddress}`}>${a.siteName}</td>
      <td role="cell" class="where" title=${`CID ${a.cid} · SIA ${a.sia}`}>${whereWords(a)}</td>
      ${
        waiting
          ? html`<td role="cell" class="next" title=${stepWords(a.proposal)}>${stepWords(a.proposal)}</td><td role="cell" class="wakes">${a.proposal?.until ? wakeOf(a.proposal.until) : 'when it arrives'}</td>`
          : html`<td role="cell" class="state">${a.claimedBy ? html`<span class="badge claimed">${a.claimedBy.displayName}</span>` : html`<span class="badge unclaimed">unclaimed</span>`}${a.restoredAt ? html` <span class="badge">restored</span>` : null}</td>
          <td role="cell" class="next" title=${stepWords(a.proposal)}>${stepWords(a.proposal)}</td>`
      }
    </tr>`;
  }
}

export function QueueTable({ id, label, alarms, selected, live, waiting, onSelect }) {
  // Laid out as grid rows (roles keep it a table for assistive technology and tests), so that rows
  // off screen skip layout and paint (content-visibility): a live update costs the visible rows only.
  return html`<table aria-label=${label} class=${`queue ${waiting ? 'waiting' : 'active'}`} role="table">
    <thead role="rowgroup"><tr role="row"><th role="columnheader">Prio</th><th role="columnheader">Age</th><th role="columnheader">Incident</th><th role="columnheader">Site</th><th role="columnheader" class="where">Where</th>${waiting ? html`<th role="columnheader">Waiting for</th><th role="columnheader">Wakes</th>` : html`<th role="columnheader">Handled by</th><th role="columnheader">Next step</th>`}</tr></thead>
    <tbody id=${id} role="rowgroup">
      ${alarms.map((a) => html`<${Row} key=${a.alarmId} alarm=${a} selected=${a.alarmId === selected} live=${live} waiting=${waiting} onSelect=${onSelect} />`)}
    </tbody>
  </table>`;
}
