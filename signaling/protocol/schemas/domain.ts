/**
 * Validators for the domain vocabulary (server only). Each has the name of its type in ../types/,
 * carries that type as well (so `Role` is both the validator and the type), and is checked at compile
 * time to accept and produce exactly that type.
 */
import { z } from 'zod';
import * as T from '../types/domain.js';
import type { Assert, Matches } from './check.js';

export const Role = z.enum(T.ROLES);
export type Role = T.Role;

export const RoomKind = z.enum(T.ROOM_KINDS);
export type RoomKind = T.RoomKind;

export const SiteLevel = z.enum(T.SITE_LEVELS);
export type SiteLevel = T.SiteLevel;

/** Room ids travel in URLs and file names: keep them to a safe alphabet. */
export const RoomId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'room id: 1-64 of A-Z a-z 0-9 _ . -');
export const Identifier = z.string().min(1).max(128);

export const Site = z.object({
  id: Identifier,
  name: z.string().min(1).max(200),
  level: SiteLevel,
});
export type Site = T.Site;

export const MediaSource = z.enum(T.MEDIA_SOURCES);
export type MediaSource = T.MediaSource;
export const MediaKind = z.enum(T.MEDIA_KINDS);
export type MediaKind = T.MediaKind;

export const ParticipantInfo = z.object({
  id: z.string(),
  identity: Identifier,
  displayName: z.string(),
  role: Role,
  site: Site,
  joinedAt: z.string(),
});
export type ParticipantInfo = T.ParticipantInfo;

export const ProducerInfo = z.object({
  id: z.string(),
  participantId: z.string(),
  kind: MediaKind,
  source: MediaSource,
  paused: z.boolean(),
});
export type ProducerInfo = T.ProducerInfo;

export const ChatMessage = z.object({
  id: z.string(),
  participantId: z.string(),
  displayName: z.string(),
  role: Role,
  siteName: z.string(),
  text: z.string(),
  at: z.string(),
});
export type ChatMessage = T.ChatMessage;

export const QuestionStatus = z.enum(T.QUESTION_STATUSES);
export type QuestionStatus = T.QuestionStatus;

type _Checks = [
  Assert<Matches<typeof Role, T.Role>>,
  Assert<Matches<typeof RoomKind, T.RoomKind>>,
  Assert<Matches<typeof SiteLevel, T.SiteLevel>>,
  Assert<Matches<typeof Site, T.Site>>,
  Assert<Matches<typeof MediaSource, T.MediaSource>>,
  Assert<Matches<typeof MediaKind, T.MediaKind>>,
  Assert<Matches<typeof ParticipantInfo, T.ParticipantInfo>>,
  Assert<Matches<typeof ProducerInfo, T.ProducerInfo>>,
  Assert<Matches<typeof ChatMessage, T.ChatMessage>>,
  Assert<Matches<typeof QuestionStatus, T.QuestionStatus>>,
];
