/**
 * A werift camera presenter (FFmpeg's VP8 test pattern, see ../fuzz/weriftPublisher.ts) as a process
 * of its own, driven over stdin/stdout by ./presenterProcess.ts: so that what a test process does
 * meanwhile (dozens of werift viewers handshaking) cannot stall the source of the media it measures.
 *
 * argv: <signaling url> <access token>. Prints `{"producerId": …}` once publishing, then answers each
 * stdin line `pause` | `resume` | `close` (the camera's producer) with `{"done": "<line>"}` (or `{"error": …}`). SIGTERM or stdin's
 * end: closes FFmpeg and the connection, and exits.
 */
import readline from 'node:readline';
import { ok } from './signalingClient.js';
import { publishTestPattern } from '../fuzz/weriftPublisher.js';

const [url, token] = process.argv.slice(2);
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
const publisher = await publishTestPattern(url!, token!);
let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await publisher.close();
  process.exit(0);
};
process.once('SIGTERM', () => void close());
say({ producerId: publisher.producerId });
const input = readline.createInterface({ input: process.stdin });
input.on('close', () => void close());
input.on('line', (line) => {
  const request = ({ pause: 'pauseProducer', resume: 'resumeProducer', close: 'closeProducer' } as const)[line as 'pause'];
  if (!request) return say({ error: `unknown command ${line}` });
  void publisher.client.request(request, { producerId: publisher.producerId }).then(
    (ack) => {
      ok(ack);
      say({ done: line });
    },
    (error: unknown) => say({ error: String(error) }),
  );
});
