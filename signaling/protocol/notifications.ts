/**
 * Server → client notifications. Names and payload types live here so the SDK's typed events and
 * the server's emitters agree at compile time.
 */
import type { ParticipantInfo, ProducerInfo } from './domain.js';

export type LeaveReason = 'left' | 'disconnected' | 'replaced' | 'removed' | 'room_closed';

export interface NotificationMap {
  participantJoined: { participant: ParticipantInfo };
  participantLeft: { participantId: string; reason: LeaveReason };
  producerAdded: { producer: ProducerInfo };
  producerClosed: { producerId: string; participantId: string };
  producerPaused: { producerId: string; participantId: string };
  producerResumed: { producerId: string; participantId: string };
  consumerClosed: { consumerId: string; producerId: string };
  consumerLayersChanged: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
  activeSpeaker: { participantId: string | null };
  /** Sent to a participant whose session ends for a reason other than its own leave. */
  sessionEnded: { reason: LeaveReason; message: string };
}
export type NotificationName = keyof NotificationMap;
