/**
 * The operators' view of the rooms on this node (`/admin/rooms…`, behind the admin token checked by
 * adminRouter): what runs, who is in each room from which site and how their line is doing, and the
 * two interventions an operator needs — close a room, remove a participant. Both are written to the
 * room's own audit trail first (with the operator's token subject), like a moderator's actions.
 */
import express from 'express';
import { notFound } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { callQuality } from '../rooms/callQuality.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { operatorOf as operator, sendAdminError as fail } from './adminReply.js';

function summary(room: Room) {
  const people = room.participants();
  const sites = new Map(people.map((p) => [p.info.site.id, p.info.site]));
  const recording = room.recording;
  return {
    id: room.id,
    kind: room.kind,
    caseId: room.caseId ?? null,
    openedAt: room.openedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - room.openedAt.getTime()) / 1000),
    participants: people.length,
    waiting: room.waiting().length,
    sites: [...sites.values()],
    locked: room.locked,
    recording: recording ? { sessionId: recording.sessionId, startedAt: recording.startedAt } : null,
  };
}

async function detail(room: Room) {
  const participants = await Promise.all(
    room.participants().map(async (p) => ({
      id: p.id,
      identity: p.info.identity,
      name: p.info.displayName,
      role: p.info.role,
      site: p.info.site,
      state: p.state,
      sources: p.producerInfos().map((i) => ({ source: i.source, paused: i.paused })),
      line: await callQuality(p),
    })),
  );
  return { ...summary(room), participants };
}

export function adminRoomsRouter(rooms: RoomRegistry, log: Logger): express.Router {
  const router = express.Router();
  const roomOf = (req: express.Request): Room => {
    const room = rooms.get(String(req.params['roomId']));
    if (!room || room.closed) throw notFound('no such room on this node (it may have ended, or run on another node)');
    return room;
  };

  router.get('/admin/rooms', (_req, res) => {
    res.json({
      rooms: rooms
        .rooms()
        .filter((r) => !r.closed)
        .map(summary),
    });
  });

  router.get('/admin/rooms/:roomId', (req, res) => {
    Promise.resolve()
      .then(() => detail(roomOf(req)))
      .then(
        (body) => res.json(body),
        (error: unknown) => fail(res, error),
      );
  });

  router.post('/admin/rooms/:roomId/close', (req, res) => {
    try {
      const room = roomOf(req);
      log.warn({ admin: operator(res), room: room.id }, 'room closed through the admin API');
      room.close('room_closed', '会诊室已由运维人员关闭 · the room was closed by the operations team', undefined, {
        operator: operator(res),
      });
      res.json({ closed: room.id });
    } catch (error) {
      fail(res, error);
    }
  });

  router.post('/admin/rooms/:roomId/participants/:participantId/remove', (req, res) => {
    try {
      const room = roomOf(req);
      const target = room.target(String(req.params['participantId']));
      // Written before it is done: an intervention that cannot be traced is not carried out (503).
      room.audit('removed', undefined, target, { operator: operator(res) });
      log.warn({ admin: operator(res), room: room.id, participant: target.id }, 'participant removed through the admin API');
      room.remove(target, 'removed', '您已被运维人员移出会诊 · you were removed from this consultation by the operations team', true);
      res.json({ removed: target.id });
    } catch (error) {
      fail(res, error);
    }
  });

  return router;
}
