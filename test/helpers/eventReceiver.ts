/**
 * The hospital side of event webhooks, for tests: a receiver on 127.0.0.1 that verifies each
 * signature (audience `room-event`), can be down (connection refused: not started), answer 500s
 * ('failing'), or take events ('up'), and processes each event id once however often it arrives.
 */
import { randomBytes } from 'node:crypto';
import { verifyWebhook } from '../../recordings/sinks/webhookSignature.js';
import { EVENT_TYPE_HEADER, EVENT_WEBHOOK_AUDIENCE } from '../../server/events/EventWebhooks.js';
import type { RoomEvent } from '../../server/events/types.js';
import { createReceiver, type Receiver } from '../recordings/helpers/receiver.js';

export interface EventReceiver extends Receiver {
  secret: string;
  /**
   * 'failing': every verified request is answered 500 before anything is processed (the server must
   * retry). 'answer-lost': the event is processed, then answered 500, as when the answer is lost on
   * the way back: the server sends it again and de-duplication must keep it once.
   */
  mode: 'up' | 'failing' | 'answer-lost';
  /** Events processed: the first delivery of each id, in the order they arrived. */
  processed: RoomEvent[];
  /** Verified deliveries per id: more than one is a redelivery, acknowledged and not processed again. */
  deliveries: Map<string, number>;
  /** Answered 500 while failing. */
  failed: number;
  /** Why a request was refused (bad signature, key or header): must stay empty. */
  rejected: string[];
}

export async function eventReceiver(): Promise<EventReceiver> {
  const secret = randomBytes(32).toString('hex');
  const state = { mode: 'up' as EventReceiver['mode'], failed: 0 };
  const processed: RoomEvent[] = [];
  const deliveries = new Map<string, number>();
  const rejected: string[] = [];
  const receiver = await createReceiver((req) => {
    const check = verifyWebhook(req.body, req.headers, secret, { audience: EVENT_WEBHOOK_AUDIENCE });
    if (!check.ok) {
      rejected.push(check.reason);
      return { status: 401 };
    }
    if (state.mode === 'failing') {
      state.failed++;
      return { status: 500, body: { error: 'the hospital system is restarting' } };
    }
    const event = JSON.parse(req.body.toString('utf8')) as RoomEvent;
    if (check.idempotencyKey !== event.id || req.headers[EVENT_TYPE_HEADER] !== event.type) {
      rejected.push(`headers do not match event ${event.id}`);
      return { status: 400 };
    }
    const seen = deliveries.get(event.id) ?? 0;
    deliveries.set(event.id, seen + 1);
    if (seen === 0) processed.push(event); // de-duplicated by id: a redelivery changes nothing
    if (state.mode === 'answer-lost') {
      state.failed++;
      return { status: 500 };
    }
    return { status: 200 };
  });
  // Accessors, not copies: the test switches the mode while the server delivers.
  Object.defineProperties(receiver, {
    mode: { get: () => state.mode, set: (mode: EventReceiver['mode']) => (state.mode = mode), enumerable: true },
    failed: { get: () => state.failed, enumerable: true },
  });
  return Object.assign(receiver as Receiver & Pick<EventReceiver, 'mode' | 'failed'>, { secret, processed, deliveries, rejected });
}

/** The events of one room, in the order they were processed. */
export const eventsOf = (receiver: EventReceiver, roomId: string): RoomEvent[] => receiver.processed.filter((e) => e.room.id === roomId);
