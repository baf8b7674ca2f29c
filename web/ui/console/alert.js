// The audible alert: a tone that repeats while an incident nobody has claimed is waiting for an
// operator, faster and higher for higher classes. Each operator can mute classes on their console
// (kept in this browser for that operator); the tab title and icon count regardless.

/** Per class: seconds between repeats and the tone (Hz, seconds, how many beeps). */
export const ALERT_TONES = {
  security: { every: 3, hz: 988, beep: 0.18, beeps: 3 },
  safety: { every: 3, hz: 880, beep: 0.25, beeps: 2 },
  technical: { every: 15, hz: 660, beep: 0.3, beeps: 1 },
  schedule: { every: 30, hz: 523, beep: 0.3, beeps: 1 },
};

const storageKey = (username) => `vigil.alert.muted.${username}`;

export function mutedClasses(username) {
  try {
    return new Set(JSON.parse(localStorage.getItem(storageKey(username)) ?? '[]'));
  } catch {
    return new Set();
  }
}

export function saveMuted(username, muted) {
  localStorage.setItem(storageKey(username), JSON.stringify([...muted]));
}

export class AudibleAlert {
  #context = null;
  #timer = null;
  #cls = null;
  #lastAt = 0;

  /** Browsers allow sound after a gesture: the login click (or any later click or key) unlocks it. */
  unlock() {
    this.#context ??= new AudioContext();
    if (this.#context.state === 'suspended') this.#context.resume().catch(() => undefined);
  }

  get blocked() {
    return this.#context?.state !== 'running';
  }

  /** The class to sound for now (the highest with an unclaimed incident, not muted), or null. */
  set(cls) {
    if (cls === this.#cls) return;
    const rising =
      cls !== null &&
      (this.#cls === null ||
        Object.keys(ALERT_TONES).indexOf(cls) < Object.keys(ALERT_TONES).indexOf(this.#cls));
    this.#cls = cls;
    clearInterval(this.#timer);
    this.#timer = null;
    if (cls === null) return;
    const tone = ALERT_TONES[cls];
    if (rising || Date.now() - this.#lastAt >= tone.every * 1000) this.#sound(tone);
    this.#timer = setInterval(() => this.#sound(tone), tone.every * 1000);
  }

  stop() {
    this.set(null);
  }

  #sound(tone) {
    const context = this.#context;
    if (context?.state !== 'running') return;
    this.#lastAt = Date.now();
    const start = context.currentTime + 0.01;
    for (let i = 0; i < tone.beeps; i++) {
      const at = start + i * tone.beep * 1.6;
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = 'square';
      oscillator.frequency.value = tone.hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + tone.beep);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + tone.beep + 0.02);
    }
  }
}
