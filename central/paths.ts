/** A gateway's transmission path (EN 50136): MQTT is primary, DC-09 is its account's path. */
export type PathName = 'primary' | 'backup';
