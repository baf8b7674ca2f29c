export * from './event-codes.ts';
export * from './messages.ts';
export * from './topics.ts';
export * from './version.ts';
