// The operator console's composition: login, the live queue (feed.js), the incident panel, the
// supervisor's board, site management, follow-ups, registrations and the audit view.
import { api, refusal } from '../lib/api.js';
import { html, render, useEffect, useMemo, useReducer, useRef, useState } from '../lib/html.js';
import { Login, useSession } from '../lib/session.js';
import { timeOf } from '../lib/time.js';
import { ALERT_TONES, AudibleAlert, mutedClasses, saveMuted } from './alert.js';
import { AuditView } from './audit.js';
import { BoardView } from './board.js';
import { IncidentPanel } from './detail.js';
import { isWaiting, QueueFeed } from './feed.js';
import { Counts, SiteSearch, SoundControl, useTabBadge } from './header.js';
import { FollowUpsView, SubmissionsView } from './lists.js';
import { QueueTable } from './queue.js';
import { SitesView } from './sites.js';

const ROLES = ['operator', 'supervisor'];
const VIEWS = [
  ['queue', 'Queue', false],
  ['sites', 'Sites', false],
  ['follow-ups', 'Follow-ups', false],
  ['board', 'Board', true],
  ['submissions', 'To register', true],
  ['audit', 'Audit', true],
];
const alert = new AudibleAlert();

function Banners({ feed, me, notices, dismiss }) {
  const unattended =
    me.role === 'supervisor'
      ? [...feed.alarms.values()].filter((a) => a.escalation === 'supervisor' && !a.claimedBy)
      : [];
  return html`<div class="banners">
    ${
      !feed.live && feed.everLive
        ? html`<div id="connection-lost" class="banner lost" role="alert">Connection to the central lost at ${timeOf(feed.lostAt)}. The queue below is not live and may be out of date; reconnecting…</div>`
        : null
    }
    ${!feed.live && !feed.everLive ? html`<div class="banner connecting" role="status">Connecting to the central…</div>` : null}
    ${
      unattended.length
        ? html`<div id="unattended" class="banner" role="alert">${unattended.length} incident${unattended.length === 1 ? '' : 's'} unattended: ${unattended.map((a) => `${a.title} at ${a.siteName}`).join('; ')}</div>`
        : null
    }
    ${notices.map((n) => html`<div key=${n.id} class="banner notice" role="alert">${n.text} <button type="button" class="btn small" onClick=${() => dismiss(n.id)}>Understood</button></div>`)}
  </div>`;
}

function Console({ me, onLogout }) {
  const feed = useMemo(() => new QueueFeed(), []);
  const [, redraw] = useReducer((x) => x + 1, 0);
  const [view, setView] = useState('queue');
  const [selected, setSelected] = useState(null);
  const [detail, setDetail] = useState(null);
  const [feedback, setFeedback] = useState(null);
  const [notices, setNotices] = useState([]);
  const [muted, setMuted] = useState(() => mutedClasses(me.username));
  const [openSite, setOpenSite] = useState(null);
  const selectedRef = useRef(null);
  selectedRef.current = selected;

  const loadDetail = async (id = selectedRef.current) => {
    if (!id) return setDetail(null);
    const r = await api('GET', `/api/alarms/${id}`);
    if (id !== selectedRef.current) return undefined;
    if (r.ok) setDetail(r.body);
    else setFeedback({ alarmId: id, tone: 'error', text: refusal(r) });
    return undefined;
  };

  useEffect(() => {
    const offState = feed.subscribe(redraw);
    const offAlarm = feed.onAlarm((a) => {
      if (a.takenOver && a.takenOver.from === me.username)
        setNotices((list) => [
          ...list,
          {
            id: `${a.alarmId}-${Date.now()}`,
            text: `${a.takenOver.by} took over "${a.title}" at ${a.siteName}: ${a.takenOver.reason}`,
          },
        ]);
      if (a.alarmId === selectedRef.current) loadDetail();
    });
    feed.start();
    const unlock = () => alert.unlock();
    document.addEventListener('pointerdown', unlock);
    document.addEventListener('keydown', unlock);
    return () => {
      offState();
      offAlarm();
      feed.stop();
      alert.stop();
      document.removeEventListener('pointerdown', unlock);
      document.removeEventListener('keydown', unlock);
    };
  }, []);

  useEffect(() => {
    loadDetail(selected);
  }, [selected]);

  const open = feed.ordered();
  const active = open.filter((a) => !isWaiting(a));
  const waiting = open.filter(isWaiting);
  const unclaimed = active.filter((a) => a.status === 'open' && !a.claimedBy);
  const perClass = {};
  for (const a of unclaimed) perClass[a.class] = (perClass[a.class] ?? 0) + 1;
  useTabBadge(unclaimed.length);
  const sounding = feed.live
    ? (Object.keys(ALERT_TONES).find((cls) => perClass[cls] && !muted.has(cls)) ?? null)
    : null;
  useEffect(() => alert.set(sounding), [sounding]);

  const select = (id) => {
    setView('queue');
    setSelected(id);
    requestAnimationFrame(() =>
      document.querySelector(`tr[data-alarm-id="${id}"]`)?.scrollIntoView({ block: 'nearest' }),
    );
  };
  const ordered = [...active, ...waiting];

  useEffect(() => {
    const onKey = (e) => {
      if (view !== 'queue') return;
      const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName);
      if (e.key === 'Escape') {
        if (typing) return document.activeElement.blur();
        return setSelected(null);
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return undefined;
      const at = ordered.findIndex((a) => a.alarmId === selectedRef.current);
      const move = (delta) => {
        e.preventDefault();
        const next = ordered[Math.min(ordered.length - 1, Math.max(0, at === -1 ? 0 : at + delta))];
        if (next) select(next.alarmId);
      };
      if (e.key === 'ArrowDown' || e.key === 'j') move(1);
      else if (e.key === 'ArrowUp' || e.key === 'k') move(-1);
      else if (e.key === '/') {
        e.preventDefault();
        document.getElementById('search')?.focus();
      } else if (e.key === 'c') document.getElementById('claim')?.click();
      else if (e.key === 'n') {
        e.preventDefault();
        document.getElementById('note-text')?.focus();
      } else if (['1', '2', '3', '4', '5'].includes(e.key))
        document.querySelector(`#detail button[data-key="${e.key}"]`)?.click();
      return undefined;
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  const showSite = (siteId) => {
    setOpenSite(siteId);
    setView('sites');
  };
  const live = feed.live;
  return html`
    <header>
      <h1>Vigil</h1>
      <nav id="views">
        ${VIEWS.filter(([, , supervisor]) => !supervisor || me.role === 'supervisor').map(
          ([id, name]) =>
            html`<button type="button" key=${id} aria-pressed=${String(view === id)} onClick=${() => setView(id)}>${name}${id === 'queue' && unclaimed.length ? html` <span class="nav-count">${unclaimed.length}</span>` : null}</button>`,
        )}
      </nav>
      <${SiteSearch} onSite=${showSite} onAlarm=${select} />
      <${Counts} perClass=${perClass} />
      <${SoundControl} muted=${muted} blocked=${alert.blocked} onChange=${(next) => {
        saveMuted(me.username, next);
        setMuted(next);
        alert.unlock();
      }} />
      <span id="who" title=${`${me.username}, ${me.role}`}>${me.displayName}</span>
      <span id="conn" class=${live ? 'live' : 'down'}>${live ? 'live' : feed.everLive ? 'connection lost' : 'connecting…'}</span>
      <button type="button" id="logout" class="btn small" onClick=${onLogout}>Log out</button>
    </header>
    <${Banners} feed=${feed} me=${me} notices=${notices} dismiss=${(id) => setNotices((list) => list.filter((n) => n.id !== id))} />
    <main>
      ${
        view === 'queue'
          ? html`<section id="work" class=${`${selected ? '' : 'no-detail'}${live ? '' : ' stale'}`}>
            <div class="scroll" id="queue-scroll">
              <h2 class="section">Active <span class="muted">${active.length} · for an operator now</span></h2>
              <${QueueTable} id="alarms" label="Open alarms" alarms=${active} selected=${selected} live=${live} waiting=${false} onSelect=${select} />
              ${active.length === 0 ? html`<div id="empty">No open alarms.</div>` : null}
              ${feed.beyond.beyond ? html`<div id="beyond" role="status">${feed.beyond.beyond} more open alarm(s) below these ${feed.beyond.shown}, lower in priority (${feed.beyond.total} open in all).</div>` : null}
              <h2 class="section">Waiting <span class="muted">${waiting.length} · the central waits; each wakes by itself</span></h2>
              ${
                waiting.length
                  ? html`<${QueueTable} id="waiting" label="Waiting incidents" alarms=${waiting} selected=${selected} live=${live} waiting=${true} onSelect=${select} />`
                  : html`<div class="muted empty-small">Nothing waiting.</div>`
              }
              <div id="help"><kbd>↑</kbd>/<kbd>↓</kbd> select · <kbd>c</kbd> claim · <kbd>1</kbd> calling · <kbd>2</kbd> invalid code · <kbd>3</kbd> no answer · <kbd>n</kbd> note · <kbd>/</kbd> search · <kbd>Esc</kbd> close panel</div>
            </div>
            ${
              selected && detail && detail.alarm.alarmId === selected
                ? html`<aside id="detail" aria-label="Alarm detail"><${IncidentPanel} detail=${detail} me=${me} feedback=${feedback} setFeedback=${setFeedback} reload=${() => loadDetail()} /></aside>`
                : null
            }
          </section>`
          : null
      }
      ${view === 'sites' ? html`<${SitesView} me=${me} siteId=${openSite} onOpen=${setOpenSite} onAlarm=${select} />` : null}
      ${view === 'follow-ups' ? html`<${FollowUpsView} />` : null}
      ${view === 'board' ? html`<${BoardView} feed=${feed} onAlarm=${select} />` : null}
      ${view === 'submissions' ? html`<${SubmissionsView} />` : null}
      ${view === 'audit' ? html`<${AuditView} />` : null}
    </main>`;
}

function App() {
  const { me, message, enter, logout } = useSession(
    ROLES,
    'This console is for operators: customers use /portal, installers /installer.',
  );
  if (me === undefined) return html`<header><h1>Vigil</h1></header>`;
  if (me === null)
    return html`<header><h1>Vigil</h1><span id="conn" class="down">offline</span></header>
      <main><${Login} title="Operator login" onIn=${enter} message=${message} onSubmitStart=${() => alert.unlock()} /></main>`;
  return html`<${Console} key=${me.username} me=${me} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
