/**
 * A STUN binding responder on 127.0.0.1, for werift.
 *
 * werift always queries a STUN server while gathering candidates: with no `stun:` URL configured it
 * falls back to stun.l.google.com, and with a dead one it waits 5 s per gathering before giving up.
 * Pointing it at this responder keeps every packet on loopback and makes gathering take milliseconds.
 * It answers Binding requests (RFC 5389) with the sender's address as XOR-MAPPED-ADDRESS and ignores
 * everything else. One socket per process, shared by every viewer, unref'd (never keeps Node alive).
 */
import dgram from 'node:dgram';

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;

let shared: Promise<{ url: string; socket: dgram.Socket }> | undefined;

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** The Binding success response to `request` from `rinfo`, or undefined if it is not a Binding request. */
export function bindingResponse(request: Buffer, rinfo: { address: string; port: number; family: string }): Buffer | undefined {
  if (request.length < 20 || request.readUInt16BE(0) !== BINDING_REQUEST || request.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  if (rinfo.family !== 'IPv4') return undefined;
  const response = Buffer.alloc(20 + 12);
  response.writeUInt16BE(BINDING_SUCCESS, 0);
  response.writeUInt16BE(12, 2); // attribute length
  request.copy(response, 4, 4, 20); // magic cookie + transaction id
  response.writeUInt16BE(XOR_MAPPED_ADDRESS, 20);
  response.writeUInt16BE(8, 22);
  response.writeUInt8(0, 24);
  response.writeUInt8(0x01, 25); // IPv4
  response.writeUInt16BE(rinfo.port ^ (MAGIC_COOKIE >>> 16), 26);
  response.writeUInt32BE((ipv4ToInt(rinfo.address) ^ MAGIC_COOKIE) >>> 0, 28);
  return response;
}

/** `stun:127.0.0.1:<port>` of this process' responder (started on first use). */
export function loopbackStunUrl(): Promise<string> {
  shared ??= new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      const response = bindingResponse(msg, rinfo);
      if (response) socket.send(response, rinfo.port, rinfo.address, () => undefined);
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // a stray ICMP error must not take the process down
      socket.unref();
      resolve({ url: `stun:127.0.0.1:${socket.address().port}`, socket });
    });
  });
  return shared.then((s) => s.url);
}
