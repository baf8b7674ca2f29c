// Notifications on this phone (Web Push): the browser subscribes with the central's VAPID key; the
// central checks the person's ID code and PIN, as on the phone, before it sends anything to it.
import { api, refusal } from '../lib/api.js';
import { html, useEffect, useState } from '../lib/html.js';

const WORKER = '/assets/ui/portal/sw.js';

const supported = () =>
  'serviceWorker' in navigator && 'PushManager' in globalThis && 'Notification' in globalThis;

export function PushToggle({ siteId, code }) {
  const [state, setState] = useState(supported() ? 'checking' : 'unsupported');
  const [error, setError] = useState('');
  useEffect(() => {
    if (!supported()) return;
    navigator.serviceWorker
      .getRegistration(WORKER)
      .then((registration) => registration?.pushManager.getSubscription())
      .then((subscription) => setState(subscription ? 'on' : 'off'))
      .catch(() => setState('off'));
  }, []);
  const turnOn = async () => {
    setError('');
    try {
      if ((await Notification.requestPermission()) !== 'granted')
        return setError('Notifications are blocked for this site in the browser settings.');
      const key = await api('GET', '/api/push/key');
      const registration = await navigator.serviceWorker.register(WORKER);
      await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key.body.publicKey,
      });
      const r = await api('POST', '/api/push/subscriptions', {
        siteId,
        ...code,
        subscription: subscription.toJSON(),
      });
      if (!r.ok) {
        await subscription.unsubscribe();
        return setError(refusal(r));
      }
      setState('on');
    } catch (e) {
      setError(`This browser could not turn notifications on (${e.message}).`);
    }
    return undefined;
  };
  const turnOff = async () => {
    const registration = await navigator.serviceWorker.getRegistration(WORKER);
    const subscription = await registration?.pushManager.getSubscription();
    if (subscription) {
      const { endpoint, keys } = subscription.toJSON();
      await api('DELETE', '/api/push/subscriptions', { endpoint, auth: keys.auth });
      await subscription.unsubscribe();
    }
    setState('off');
  };
  return html`<section class="card" aria-labelledby="push-title"><h2 id="push-title">Notifications on this phone</h2>
    <p class="muted">Alarms, arming and disarming${' '}and, with the APP formula, technical messages: as they happen.</p>
    ${state === 'unsupported' ? html`<p class="muted">This browser cannot receive notifications (on an iPhone: add the portal to the home screen first).</p>` : null}
    ${state === 'off' ? html`<button type="button" class="btn primary" onClick=${turnOn}>Turn on notifications</button><div class="muted">Needs your ID code and PIN above.</div>` : null}
    ${state === 'on' ? html`<div class="row"><span class="badge ok">On for this phone</span><button type="button" class="btn small" onClick=${turnOff}>Turn off</button></div>` : null}
    ${error ? html`<div class="notice error" role="alert">${error}</div>` : null}
  </section>`;
}
