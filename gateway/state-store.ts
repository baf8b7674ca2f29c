import path from 'node:path';
import { openJsonFile } from '../lib/json-file.ts';
import type { ArmingMode } from './domain/panel.ts';

/** Arming state that must survive a restart (lowdb: rare, small writes, atomically replaced). */
export interface PersistedState {
  areas: Record<string, ArmingMode>;
}

export interface StateStore {
  load(): PersistedState;
  saveAreas(areas: Readonly<Record<number, ArmingMode>>): Promise<void>;
}

export async function openStateStore(dataDir: string, initial: PersistedState): Promise<StateStore> {
  const db = await openJsonFile<PersistedState>(path.join(dataDir, 'state.json'), initial);
  return {
    load: () => structuredClone(db.data),
    async saveAreas(areas) {
      db.data.areas = Object.fromEntries(Object.entries(areas));
      await db.write();
    },
  };
}
