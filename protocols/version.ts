/** Wire protocol version: the `v` field of every message and the second level of every topic. */
export const PROTOCOL_VERSION = 1 as const;
export const TOPIC_ROOT = `vigil/v${PROTOCOL_VERSION}` as const;
