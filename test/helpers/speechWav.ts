/**
 * A microphone that talks, for tests of who speaks: Chromium's fake microphone beeps for 20 ms every
 * 500 ms, too sparse for mediasoup's dominant-speaker detection (Volfin–Cohen, as in Jitsi) to be
 * sure who took over once the last speaker muted — on a loaded machine it sometimes never switched.
 * This writes a WAV of syllable-like bursts (shaped noise, 120–320 ms on, 80–220 ms off, the same
 * every time) for Chromium's `--use-file-for-fake-audio-capture`, which loops it.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RATE = 48_000;
const SECONDS = 6;

/** A small seeded generator: the same "speech" in every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function samples(): Int16Array {
  const random = lcg(20261130);
  const out = new Int16Array(RATE * SECONDS);
  let smooth = 0;
  for (let i = 0; i < out.length;) {
    const on = Math.round(RATE * (0.12 + 0.2 * random()));
    const off = Math.round(RATE * (0.08 + 0.14 * random()));
    for (let k = 0; k < on && i < out.length; k++, i++) {
      smooth = 0.7 * smooth + 0.3 * (2 * random() - 1); // low-passed noise, voice-like colour
      const envelope = Math.sin((Math.PI * k) / on); // a syllable's rise and fall
      out[i] = Math.round(smooth * envelope * 0.6 * 32_767);
    }
    i += off; // silence (zeros)
  }
  return out;
}

/** Writes the WAV (16-bit mono PCM) to the temp directory and returns its path. */
export function writeSpeechWav(name = `telemed-speech-${process.pid}.wav`): string {
  const pcm = samples();
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + pcm.byteLength, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(pcm.byteLength, 40);
  const file = path.join(os.tmpdir(), name);
  writeFileSync(file, Buffer.concat([header, Buffer.from(pcm.buffer)]));
  return file;
}
