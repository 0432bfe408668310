/**
 * Recordings over HTTP, for the hospital's record system and authorised viewers: only with a token
 * granting that case (`scope: recordings:read`, `caseId`), sent as `Authorization: Bearer …` only: a
 * token in the URL ends up in proxy logs, browser history and Referer headers. (A <video> player
 * fetches the file with the header and plays a blob URL.) Files are served from the case-record
 * archive, never from a guessable public path, and only names the entry lists.
 */
import express from 'express';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { safeSegment } from '../../recordings/fsutil.js';
import type { CaseRecordEntry } from '../../recordings/index.js';
import type { TokenVerifier } from '../auth/TokenVerifier.js';
import { ProtocolError } from '../../signaling/protocol/index.js';

function tokenOf(req: express.Request): string | undefined {
  const header = req.get('authorization');
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function readEntry(dir: string): CaseRecordEntry | undefined {
  const file = path.join(dir, 'entry.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CaseRecordEntry) : undefined;
}

export function recordingsRouter(archiveRoot: string, verifier: TokenVerifier): express.Router {
  const router = express.Router();
  const fail = (res: express.Response, error: ProtocolError) => res.status(error.status).json({ error: error.toWire() });

  router.use('/recordings/:caseId', (req, res, next) => {
    try {
      const grant = verifier.verifyRecordingAccess(tokenOf(req));
      if (grant.caseId !== req.params['caseId'])
        return fail(res, new ProtocolError('FORBIDDEN', 'this token grants access to another case'));
      res.setHeader('Cache-Control', 'private, no-store');
      next();
    } catch (error) {
      fail(res, error instanceof ProtocolError ? error : new ProtocolError('UNAUTHENTICATED', 'access token rejected'));
    }
  });

  router.get('/recordings/:caseId', (req, res) => {
    const caseDir = path.join(archiveRoot, safeSegment(req.params['caseId']!));
    const entries = existsSync(caseDir)
      ? readdirSync(caseDir)
          .map((d) => readEntry(path.join(caseDir, d)))
          .filter((e) => !!e)
      : [];
    res.json({
      caseId: req.params['caseId'],
      entries: entries.map((e) => ({
        id: e.id,
        roomId: e.roomId,
        roomKind: e.roomKind,
        createdAt: e.createdAt,
        status: e.manifest?.status ?? 'audit-only',
        manifest: e.manifest,
        files: e.files.map(({ path: _local, ...f }) => ({
          ...f,
          url: `/recordings/${encodeURIComponent(req.params['caseId']!)}/${encodeURIComponent(e.id)}/${encodeURIComponent(f.name)}`,
        })),
      })),
    });
  });

  router.get('/recordings/:caseId/:entryId/:file', (req, res) => {
    const dir = path.join(archiveRoot, safeSegment(req.params['caseId']!), safeSegment(req.params['entryId']!));
    const entry = readEntry(dir);
    const name = req.params['file']!;
    const listed =
      entry && (['manifest.json', 'audit.jsonl', 'entry.json'].includes(name) || entry.files.some((f) => path.basename(f.name) === name));
    if (!listed || !existsSync(path.join(dir, name)))
      return fail(res, new ProtocolError('NOT_FOUND', 'no such recording file for this case'));
    res.sendFile(name, { root: dir, dotfiles: 'deny' });
  });

  return router;
}
