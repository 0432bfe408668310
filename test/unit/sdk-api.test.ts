/**
 * client-sdk/API.md cannot drift from the SDK: it must be exactly what scripts/sdk-api.ts generates
 * from the sources now, and — checked independently of the generator, on the loaded module — every
 * runtime export, every public method and property of the classes a client reaches, and every error
 * code must be in it. After changing the SDK's surface: `npm run --silent sdk:api`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as sdk from '../../client-sdk/src/index.js';
import { Audience } from '../../client-sdk/src/Audience.js';
import { Moderation } from '../../client-sdk/src/Moderation.js';
import { Recording } from '../../client-sdk/src/Recording.js';
import { ERROR_CODES } from '../../signaling/protocol/types/index.js';
import { API_FILE, renderApiReference } from '../../scripts/sdk-api.js';

const apiMd = readFileSync(API_FILE, 'utf8');

/** Public names on a class's prototype (methods and getters; `#private` ones are not properties). */
const publicNames = (cls: { prototype: object }) => Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor');

describe('client-sdk/API.md', () => {
  it('is what scripts/sdk-api.ts generates from the sources (run `npm run --silent sdk:api` after changing the SDK)', () => {
    expect(apiMd).toBe(renderApiReference());
  }, 120_000);

  it('names every runtime export, public method and property, and error code of the SDK', () => {
    const missing = (names: string[], as: (n: string) => string) => names.filter((n) => !apiMd.includes(as(n)));
    expect(missing(Object.keys(sdk), (n) => `\`${n}`)).toEqual([]);
    expect(missing(['join'], (n) => `\`ConsultationClient.${n}(`)).toEqual([]);
    for (const cls of [sdk.ConsultationClient, Audience, Moderation, Recording])
      expect(
        missing(publicNames(cls), (n) => `- \`${n}`),
        cls.name,
      ).toEqual([]);
    // The audio events this SDK version added, with their place in the events list.
    expect(missing(['audioPlaybackBlocked', 'audioPlaybackStarted', 'activeSpeaker'], (n) => `- \`${n}(`)).toEqual([]);
    expect(missing(Object.keys(ERROR_CODES), (code) => `| \`${code}\` |`)).toEqual([]);
  });
});
