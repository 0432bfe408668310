/** This SDK's version (the package's): report it with a bug, compare it with the server's PROTOCOL_VERSION. */
export const SDK_VERSION = '0.2.0';
