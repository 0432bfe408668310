/**
 * The one permission table: what each role may do in each kind of room. The server enforces it on
 * every request; the SDK exposes a participant's own row so a UI can hide what would be refused.
 */
import type { MediaSource, Role, RoomKind } from './domain.js';

export const PERMISSIONS = [
  'publish_audio',
  'publish_video',
  'publish_screen',
  /** Lock the room, admit from the lobby, mute, stop a screen share, remove, lower hands. */
  'moderate',
  'record',
  'end_room',
  'chat',
  'raise_hand',
  /** Enter a locked room without waiting in the lobby. */
  'bypass_lobby',
  /** Ask the presenters a written question (broadcast viewers, training trainees). */
  'ask_question',
  /** Approve, hide and mark questions answered. */
  'manage_questions',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

type Table = Record<RoomKind, Partial<Record<Role, readonly Permission[]>>>;

const TALK: readonly Permission[] = ['chat', 'raise_hand'];
const AV: readonly Permission[] = ['publish_audio', 'publish_video', ...TALK];
const AVS: readonly Permission[] = [...AV, 'publish_screen'];
/** The expert team walks past the lobby; requesting sites and others wait to be admitted. */
const TEAM: readonly Permission[] = [...AVS, 'bypass_lobby'];
const CHAIR: readonly Permission[] = [...TEAM, 'moderate', 'record', 'end_room', 'manage_questions'];
const PRESENTER: readonly Permission[] = [...TEAM, 'manage_questions'];

/** Roles absent from a kind's row may not enter rooms of that kind at all. */
const TABLE: Table = {
  consultation: {
    lead_specialist: CHAIR,
    specialist: TEAM,
    clinic_doctor: AVS,
    care_team: AV,
    observer: TALK,
  },
  follow_up: {
    lead_specialist: CHAIR,
    specialist: TEAM,
    clinic_doctor: AVS,
    care_team: AV,
    // A patient shows their face and voice; sharing a screen is for clinicians.
    patient: AV,
    observer: TALK,
  },
  broadcast: {
    lead_specialist: CHAIR,
    presenter: PRESENTER,
    // Viewers ask in writing (Q&A), never publish unless a moderator brings them on stage.
    viewer: ['raise_hand', 'ask_question'],
  },
  training: {
    lead_specialist: CHAIR,
    presenter: PRESENTER,
    specialist: TEAM,
    // Trainees raise a hand and may be given the floor (on stage) by the moderator.
    observer: [...TALK, 'ask_question'],
  },
};

export function mayEnter(kind: RoomKind, role: Role): boolean {
  return TABLE[kind][role] !== undefined;
}

export function permissionsFor(kind: RoomKind, role: Role): ReadonlySet<Permission> {
  return new Set(TABLE[kind][role] ?? []);
}

/** What a moderator grants someone brought on stage (or given the floor), for as long as they are there. */
export const STAGE_GRANTS: readonly Permission[] = ['publish_audio', 'publish_video'];

/** Any of these makes a participant someone who sends media. */
export const PUBLISH_PERMISSIONS = ['publish_audio', 'publish_video', 'publish_screen'] as const satisfies readonly Permission[];

export function publishPermission(source: MediaSource): Permission {
  switch (source) {
    case 'microphone':
      return 'publish_audio';
    case 'camera':
      return 'publish_video';
    case 'screen':
      return 'publish_screen';
  }
}
