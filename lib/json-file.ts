import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';

/**
 * A lowdb document on disk. Not lowdb's `JSONFilePreset`: that one silently keeps data in memory
 * when NODE_ENV=test, so tests would never exercise the file.
 */
export async function openJsonFile<T>(file: string, initial: T): Promise<Low<T>> {
  const db = new Low<T>(new JSONFile<T>(file), initial);
  await db.read();
  return db;
}
