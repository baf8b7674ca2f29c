// One clock for every countdown and age on a page: components that show time re-render once a second
// together, and nothing else does.
import { useEffect, useState } from './html.js';

const listeners = new Set();
let timer = null;

export function useNow(active = true) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const listener = () => setNow(Date.now());
    listeners.add(listener);
    timer ??= setInterval(() => {
      for (const l of listeners) l();
    }, 1000);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, [active]);
  return now;
}

/** mm:ss, or h:mm:ss past an hour. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

export const timeOf = (iso) =>
  iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '—';
export const dateTimeOf = (iso) =>
  iso ? new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '—';

/** "today 14:05", "tomorrow 09:00", or the date: when something waiting wakes. */
export function wakeOf(iso) {
  if (!iso) return 'when it happens';
  const at = new Date(iso);
  const today = new Date();
  const days = Math.round((new Date(at.toDateString()) - new Date(today.toDateString())) / 86_400_000);
  const hm = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return days === 0 ? `today ${hm}` : days === 1 ? `tomorrow ${hm}` : `${at.toLocaleDateString()} ${hm}`;
}
