export * from './route.js';
export * from './problem.js';
export * from './shared.js';
export * from './orders.js';
export * from './inventory.js';
export * from './notifications.js';
export * from './sagas.js';
export * from './principal.js';
