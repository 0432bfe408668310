/**
 * The one permission table: what each role may do in each kind of room. The server enforces it on
 * every request; the SDK exposes a participant's own row so a UI can hide what would be refused.
 */
import type { MediaSource, Role, RoomKind } from './domain.js';

export const PERMISSIONS = [
  'publish_audio',
  'publish_video',
  'publish_screen',
  'moderate',
  'record',
  'end_room',
  'chat',
  'raise_hand',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

type Table = Record<RoomKind, Partial<Record<Role, readonly Permission[]>>>;

const AV: readonly Permission[] = ['publish_audio', 'publish_video'];
const AVS: readonly Permission[] = [...AV, 'publish_screen'];
const CHAIR: readonly Permission[] = [...AVS, 'moderate', 'record', 'end_room', 'chat'];

/** Roles absent from a kind's row may not enter rooms of that kind at all. */
const TABLE: Table = {
  consultation: {
    lead_specialist: CHAIR,
    specialist: [...AVS, 'chat'],
    clinic_doctor: [...AVS, 'chat'],
    care_team: [...AV, 'chat'],
    observer: ['raise_hand', 'chat'],
  },
  follow_up: {
    lead_specialist: CHAIR,
    specialist: [...AVS, 'chat'],
    clinic_doctor: [...AVS, 'chat'],
    care_team: [...AV, 'chat'],
    patient: [...AV, 'chat'],
    observer: ['raise_hand'],
  },
  broadcast: {
    lead_specialist: CHAIR,
    presenter: [...AVS, 'chat'],
    viewer: ['raise_hand'],
  },
  training: {
    lead_specialist: CHAIR,
    presenter: [...AVS, 'chat'],
    specialist: [...AVS, 'chat'],
    observer: ['raise_hand', 'chat'],
  },
};

export function mayEnter(kind: RoomKind, role: Role): boolean {
  return TABLE[kind][role] !== undefined;
}

export function permissionsFor(kind: RoomKind, role: Role): ReadonlySet<Permission> {
  return new Set(TABLE[kind][role] ?? []);
}

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
