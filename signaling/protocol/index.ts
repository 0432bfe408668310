/** The signaling protocol: imported by the server and bundled into the client SDK. */
export * from './domain.js';
export * from './labels.js';
export * from './errors.js';
export * from './permissions.js';
export * from './requests.js';
export * from './notifications.js';
export * from './claims.js';
export * from './validate.js';
export * from './socketEvents.js';

export * from './version.js';
