export * from './statuses.js';
export * from './subjects.js';
export * from './events.js';
export * from './money.js';
export * from './reservations.js';
