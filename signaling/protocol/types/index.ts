/**
 * The signaling protocol's types layer: plain TypeScript types and `as const` values with no runtime
 * dependency (type-only imports of mediasoup-client aside). The browser SDK imports only this; the
 * runtime validators live in ../schemas/ (server only).
 */
export * from './domain.js';
export * from './labels.js';
export * from './errors.js';
export * from './permissions.js';
export * from './requests.js';
export * from './preflight.js';
export * from './notifications.js';
export * from './claims.js';
export * from './socketEvents.js';
export * from './routes.js';
export * from './version.js';
export * from './edgeLink.js';
export * from './ingest.js';
export * from './programme.js';
