/** The grade of a line from its round trip, loss and mediasoup's stream score: the tiers the tiles and operators see. */
import { describe, expect, it } from 'vitest';
import { grade } from '../../server/rooms/callQuality.js';

describe('call quality grade', () => {
  it('good, fair, poor by the worst of round trip, loss and score; unknown before any report', () => {
    expect(grade({ rttMs: null, lossPercent: null, score: null })).toBe('unknown');
    expect(grade({ rttMs: 2, lossPercent: 0, score: 10 })).toBe('good');
    expect(grade({ rttMs: 150, lossPercent: 2, score: 8 })).toBe('good');
    expect(grade({ rttMs: 151, lossPercent: 0, score: 10 })).toBe('fair');
    expect(grade({ rttMs: 20, lossPercent: 5, score: 10 })).toBe('fair');
    expect(grade({ rttMs: 20, lossPercent: 0, score: 6 })).toBe('fair');
    expect(grade({ rttMs: 401, lossPercent: 0, score: 10 })).toBe('poor');
    expect(grade({ rttMs: 20, lossPercent: 12.5, score: 10 })).toBe('poor');
    expect(grade({ rttMs: 20, lossPercent: 0, score: 3 })).toBe('poor');
    // What is not measured yet does not count against the line.
    expect(grade({ rttMs: null, lossPercent: 0, score: 9 })).toBe('good');
  });
});
