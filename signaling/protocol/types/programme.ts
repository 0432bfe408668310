/**
 * A programme: what a broadcast (or training session) is about, for the page patients open from a
 * link — title, presenter, hospital, when it starts, who may watch, and whether it may be watched
 * again. Moderators of the room create and edit it (`PUT /api/programmes/<room>`); anyone with the
 * link reads its public view (`GET /api/programmes/<room>`).
 */
import type { QuestionStatus, RoomKind } from './domain.js';

export const PROGRAMME_VISIBILITIES = ['public', 'registered'] as const;
/** `public`: anyone with the link watches (HLS); `registered`: only with a viewer token in the link. */
export type ProgrammeVisibility = (typeof PROGRAMME_VISIBILITIES)[number];

export const PROGRAMME_STATES = ['scheduled', 'live', 'ended'] as const;
export type ProgrammeState = (typeof PROGRAMME_STATES)[number];

/** What moderators write (the request body), checked by ../schemas/programme.ts. */
export interface ProgrammeDetails {
  title: string;
  description: string;
  /** ISO 8601 with an offset, e.g. 2026-12-01T19:30:00+08:00. */
  scheduledStart: string;
  presenterName: string;
  hospital: string;
  visibility: ProgrammeVisibility;
  replay: { allowed: boolean; retentionDays: number };
}

/** A replay kept after the programme: an HLS playlist finalised as video-on-demand. */
export interface ProgrammeReplay {
  url: string;
  /** ISO date-time after which it is deleted. */
  retainUntil: string;
}

/** What the programme page is told (nothing about who edited it, no tokens). */
export interface ProgrammeView {
  room: string;
  kind: RoomKind;
  details: ProgrammeDetails;
  state: ProgrammeState;
  startedAt: string | null;
  endedAt: string | null;
  /** People watching now: WebRTC viewers and HLS players. */
  viewers: number;
  /** Whether the caller may watch (public, or a valid viewer token for this room). */
  mayWatch: boolean;
  /** The caller's token lets them edit this programme. */
  mayEdit: boolean;
  /** The live HLS playlist while it runs (only when `mayWatch`). */
  hlsUrl: string | null;
  /** Only when `mayWatch` and replay was allowed and is kept. */
  replay: ProgrammeReplay | null;
  /** Approved and answered questions, without their authors' names (the page may be public). */
  questions: { id: string; text: string; status: QuestionStatus }[];
}
