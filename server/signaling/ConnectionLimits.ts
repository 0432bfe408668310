/**
 * How many sockets one identity and one network address may hold at once. One person needs a few
 * (a second device, a reloaded page before the old socket is gone); a county hospital's NAT puts a
 * whole department behind one address, so that bound is generous but finite: a runaway script or a
 * flood from one place cannot take every socket the server has.
 */
import { ProtocolError } from '../../signaling/protocol/index.js';

export interface ConnectionLimitSettings {
  perIdentity: number;
  perAddress: number;
}

export class ConnectionLimits {
  readonly #settings: ConnectionLimitSettings;
  readonly #byIdentity = new Map<string, number>();
  readonly #byAddress = new Map<string, number>();

  constructor(settings: ConnectionLimitSettings) {
    this.#settings = settings;
  }

  /** Counts a new socket in, or refuses it (TOO_MANY_REQUESTS); the returned function counts it out. */
  admit(identity: string, address: string): () => void {
    const ofIdentity = this.#byIdentity.get(identity) ?? 0;
    const ofAddress = this.#byAddress.get(address) ?? 0;
    if (ofIdentity >= this.#settings.perIdentity) {
      throw new ProtocolError(
        'TOO_MANY_REQUESTS',
        `this person already has ${ofIdentity} connections open; close another window or device first`,
      );
    }
    if (ofAddress >= this.#settings.perAddress) {
      throw new ProtocolError('TOO_MANY_REQUESTS', 'too many connections from this network address; please retry later');
    }
    this.#byIdentity.set(identity, ofIdentity + 1);
    this.#byAddress.set(address, ofAddress + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.#byIdentity, identity);
      decrement(this.#byAddress, address);
    };
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
