/**
 * Just enough SDP (RFC 8866) for WHIP: split an encoder's offer into its session part and media
 * sections, read attributes, and write lines back. No interpretation happens here (which codecs,
 * which roles): that is whipOffer.ts and whipAnswer.ts. The input comes from the network, so every
 * limit is checked before anything is built from it, and nothing written may hold a line break.
 */

/** Bigger offers are refused before parsing: a browser's two-section offer is ~6 KB, OBS's ~3 KB. */
export const MAX_SDP_BYTES = 32 * 1024;
/** A presenter sends a microphone, a camera and perhaps slides; more sections are refused. */
export const MAX_MEDIA_SECTIONS = 4;
const MAX_LINES = 1000;

export interface SdpAttribute {
  name: string;
  /** Null for a flag attribute (`a=rtcp-mux`). */
  value: string | null;
}

export interface SdpSection {
  /** `m=<media> <port> <proto> <fmt ...>` */
  media: string;
  port: number;
  protocol: string;
  formats: string[];
  attributes: SdpAttribute[];
}

export interface SdpDescription {
  attributes: SdpAttribute[];
  sections: SdpSection[];
}

/** The SDP is malformed or beyond our limits; the message says which line or limit. */
export class SdpError extends Error {
  override readonly name = 'SdpError';
  /** 413 for size, 400 otherwise. */
  readonly tooLarge: boolean;
  constructor(message: string, tooLarge = false) {
    super(message);
    this.tooLarge = tooLarge;
  }
}

const PRINTABLE = /^[\x20-\x7e]*$/;

export function parseSdp(text: string): SdpDescription {
  if (Buffer.byteLength(text) > MAX_SDP_BYTES) throw new SdpError(`the SDP is larger than ${MAX_SDP_BYTES} bytes`, true);
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length > MAX_LINES) throw new SdpError(`the SDP has more than ${MAX_LINES} lines`, true);
  if (lines[0] !== 'v=0') throw new SdpError('an SDP must start with v=0');
  const description: SdpDescription = { attributes: [], sections: [] };
  let current: SdpSection | undefined;
  for (const [index, line] of lines.entries()) {
    if (!PRINTABLE.test(line) || line[1] !== '=') throw new SdpError(`SDP line ${index + 1} is not <type>=<value> in printable ASCII`);
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      if (description.sections.length >= MAX_MEDIA_SECTIONS)
        throw new SdpError(`at most ${MAX_MEDIA_SECTIONS} media sections are accepted`);
      current = parseMediaLine(value, index + 1);
      description.sections.push(current);
    } else if (type === 'a') {
      const colon = value.indexOf(':');
      const attribute = colon < 0 ? { name: value, value: null } : { name: value.slice(0, colon), value: value.slice(colon + 1) };
      (current?.attributes ?? description.attributes).push(attribute);
    }
    // v=, o=, s=, t=, c=, b=... carry nothing a WHIP answer from an ICE-lite server depends on.
  }
  return description;
}

function parseMediaLine(value: string, lineNumber: number): SdpSection {
  const [media, port, protocol, ...formats] = value.split(' ');
  const portNumber = Number(port?.split('/')[0]);
  if (!media || !protocol || !Number.isInteger(portNumber) || formats.length === 0 || formats.length > 64)
    throw new SdpError(`SDP line ${lineNumber} is not a valid m= line`);
  return { media, port: portNumber, protocol, formats, attributes: [] };
}

/** The first value of attribute `name` in a section (or the session when absent there). */
export function attribute(section: SdpSection, name: string, session?: SdpDescription): string | undefined {
  const own = section.attributes.find((a) => a.name === name);
  if (own) return own.value ?? '';
  const shared = session?.attributes.find((a) => a.name === name);
  return shared ? (shared.value ?? '') : undefined;
}

export function attributes(section: SdpSection, name: string): string[] {
  return section.attributes.filter((a) => a.name === name).map((a) => a.value ?? '');
}

export function hasFlag(section: SdpSection, name: string): boolean {
  return section.attributes.some((a) => a.name === name);
}

/** Parameters that look numeric but are hex text (an H.264 profile-level-id such as 640032). */
const TEXT_PARAMETERS = new Set(['profile-level-id']);

/** `k=v;k=v` as an object; numeric values as numbers, as mediasoup keeps codec parameters. */
export function parseFmtp(text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    out[key] = /^\d{1,9}$/.test(value) && !TEXT_PARAMETERS.has(key) ? Number(value) : value;
  }
  return out;
}

/** Lines joined as SDP wants them (CRLF), after checking none could break out of its line. */
export function writeSdp(lines: string[]): string {
  for (const line of lines)
    if (!PRINTABLE.test(line)) throw new SdpError(`refusing to write a non-printable SDP line: ${JSON.stringify(line)}`);
  return `${lines.join('\r\n')}\r\n`;
}
