/**
 * The signaling protocol's schema layer: zod validators for requests and token claims, and the
 * request parser (server only; the browser SDK never imports this). Each validator is checked at
 * compile time against its type in ../types/.
 */
export * from './domain.js';
export * from './requests.js';
export * from './claims.js';
export * from './validate.js';
export * from './edgeLink.js';
export * from './ingest.js';
export * from './programme.js';
