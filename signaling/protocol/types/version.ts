/** Bumped when a message changes incompatibly; the SDK sends it in the handshake. */
export const PROTOCOL_VERSION = 1;
