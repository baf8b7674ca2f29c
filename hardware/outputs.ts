/** The port for the gateway's outputs (siren, strobe, relays): set one output on or off. */
export interface OutputDriver {
  readonly name: string;
  set(outputId: string, on: boolean): Promise<void>;
}

/** Outputs that only record their state: the demo page and the tests read it. */
export class SimulatedOutputs implements OutputDriver {
  readonly name = 'simulated';
  readonly states = new Map<string, boolean>();
  readonly history: Array<{ outputId: string; on: boolean }> = [];

  async set(outputId: string, on: boolean): Promise<void> {
    this.states.set(outputId, on);
    this.history.push({ outputId, on });
  }
}
