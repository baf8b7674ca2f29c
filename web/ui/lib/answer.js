// The answer to a form's last request, shown until its next one: a status in words, or the refusal.
import { refusal } from './api.js';
import { html, useState } from './html.js';

export function useAnswer() {
  const [answer, setAnswer] = useState(null);
  const show = (r, done) => setAnswer(r.ok ? { ok: true, text: done } : { ok: false, text: refusal(r) });
  const view = answer
    ? html`<div class=${answer.ok ? 'notice ok' : 'notice error'} role=${answer.ok ? 'status' : 'alert'}>${answer.text}</div>`
    : null;
  return [view, show];
}
