/**
 * Named counters with labels, rendered in the Prometheus text format.
 * Every rejection path increments one, so bad input is visible without reading logs.
 */
export class Metrics {
  readonly #counters = new Map<string, Map<string, number>>();
  readonly #help = new Map<string, string>();

  describe(name: string, help: string): void {
    this.#help.set(name, help);
  }

  increment(name: string, labels: Record<string, string> = {}, by = 1): void {
    const key = labelKey(labels);
    let series = this.#counters.get(name);
    if (!series) {
      series = new Map();
      this.#counters.set(name, series);
    }
    series.set(key, (series.get(key) ?? 0) + by);
  }

  get(name: string, labels: Record<string, string> = {}): number {
    return this.#counters.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** Sum over every label combination of one counter. */
  total(name: string): number {
    let sum = 0;
    for (const value of this.#counters.get(name)?.values() ?? []) sum += value;
    return sum;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, series] of [...this.#counters].sort(([a], [b]) => a.localeCompare(b))) {
      const help = this.#help.get(name);
      if (help) lines.push(`# HELP ${name} ${help}`);
      lines.push(`# TYPE ${name} counter`);
      for (const [key, value] of series) lines.push(`${name}${key} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function labelKey(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}
