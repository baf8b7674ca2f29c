import { v7 as uuidv7 } from 'uuid';

/** Time-ordered, globally unique ids (UUIDv7): sortable in the database, unique across gateways. */
export function newId(): string {
  return uuidv7();
}
