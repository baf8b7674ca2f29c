// Cameras on the incident panel: access is granted for 15 minutes from the alarm's start (the central
// decides); snapshots, and the camera's live stream where it has one (else a picture every 2 s).
import { api, refusal } from '../lib/api.js';
import { html, useEffect, useRef, useState } from '../lib/html.js';
import { clock, timeOf, useNow } from '../lib/time.js';

function Camera({ alarmId, camera }) {
  const [shot, setShot] = useState(null);
  const [error, setError] = useState('');
  const [live, setLive] = useState(false);
  const timer = useRef(null);
  const take = async () => {
    const r = await api('POST', `/api/alarms/${alarmId}/snapshots`, { cameraId: camera.id });
    if (r.ok) {
      setShot(r.body);
      setError('');
    } else setError(refusal(r));
  };
  useEffect(() => {
    clearInterval(timer.current);
    if (live && !camera.live) timer.current = setInterval(take, 2000);
    return () => clearInterval(timer.current);
  }, [live]);
  return html`<div class="camera">
    <div class="row">
      <strong>${camera.name}</strong>
      ${camera.snapshot ? html`<button type="button" class="btn small" onClick=${take}>Snapshot ${camera.name}</button>` : html`<span class="muted">no snapshot</span>`}
      ${camera.snapshot || camera.live ? html`<label class="check"><input type="checkbox" aria-label=${`Live ${camera.name}`} checked=${live} onChange=${(e) => setLive(e.currentTarget.checked)} /> live</label>` : null}
    </div>
    ${error ? html`<div class="error" role="alert">${error}</div>` : null}
    ${shot ? html`<img src=${`/api/media/${shot.mediaId}`} alt=${`${camera.name} at ${timeOf(shot.takenAt)}`} />` : null}
    ${live && camera.live ? html`<img class="live" alt=${`${camera.name} live`} src=${`/api/alarms/${alarmId}/cameras/${encodeURIComponent(camera.id)}/live?seconds=60`} />` : null}
  </div>`;
}

export function Cameras({ alarmId, media }) {
  const [grant, setGrant] = useState(null);
  const [error, setError] = useState('');
  const now = useNow(grant !== null);
  useEffect(() => {
    setGrant(null);
    setError('');
  }, [alarmId]);
  const open = async () => {
    const r = await api('POST', `/api/alarms/${alarmId}/camera-access`);
    if (r.ok) setGrant(r.body);
    else setError(refusal(r));
  };
  const left = grant ? (Date.parse(grant.notAfter) - now) / 1000 : 0;
  const ended = grant && left <= 0;
  return html`<div id="cameras">
    <button type="button" class="btn" id="open-cameras" onClick=${open}>Open cameras</button>
    ${error ? html`<div class="error" role="alert">${error}</div>` : null}
    ${
      grant && !ended
        ? html`<div id="camera-list">
          <div class="muted">Camera access ends in <span class="countdown" id="camera-countdown">${clock(left)}</span></div>
          ${grant.cameras.map((camera) => html`<${Camera} key=${camera.id} alarmId=${alarmId} camera=${camera} />`)}
        </div>`
        : null
    }
    ${ended ? html`<div class="muted" role="status">Camera access ended (15 minutes from the alarm start).</div>` : null}
    ${media.length > 6 ? html`<div class="muted">${media.length} pictures kept; the latest 6:</div>` : null}
    ${media.slice(-6).map(
      (m) => html`<figure key=${m.id}>
        <img src=${`/api/media/${m.id}`} alt=${`Snapshot of ${m.cameraId}`} loading="lazy" />
        <figcaption class="muted">${m.cameraId} · ${timeOf(m.takenAt)} by ${m.requestedBy}${m.holdReason ? ` · held: ${m.holdReason}` : ''}</figcaption>
      </figure>`,
    )}
  </div>`;
}
