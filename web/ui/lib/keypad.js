// A numeric keypad for a user's code, as a sheet over the page (the panel on the gateway, the
// customer's portal): big keys for a phone, typing works too.
import { html, useEffect, useRef, useState } from './html.js';

/** Asks for the user's code, then runs the action with it. */
export function Keypad({ title, onCode, onCancel }) {
  const [code, setCode] = useState('');
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);
  const press = (d) => setCode((c) => (c.length < 8 ? c + d : c));
  const submit = (e) => {
    e.preventDefault();
    if (code.length >= 4) onCode(code);
  };
  return html`<div class="sheet" role="dialog" aria-modal="true" aria-label=${title}>
    <form class="keypad" onSubmit=${submit}>
      <h2>${title}</h2>
      <input ref=${input} type="password" inputmode="numeric" autocomplete="off" aria-label="Your code" placeholder="Code" value=${code} onInput=${(e) => setCode(e.currentTarget.value.replace(/\D/g, '').slice(0, 8))} />
      <div class="keys">
        ${['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => html`<button type="button" class="key" onClick=${() => press(d)}>${d}</button>`)}
        <button type="button" class="key" aria-label="Clear" onClick=${() => setCode('')}>⌫</button>
        <button type="button" class="key" onClick=${() => press('0')}>0</button>
        <button type="submit" class="key ok" aria-label="OK" disabled=${code.length < 4}>OK</button>
      </div>
      <button type="button" class="btn" onClick=${onCancel}>Cancel</button>
    </form>
  </div>`;
}
