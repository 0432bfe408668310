/**
 * Encoders (WHIP, RTMP) publishing into this broadcast or training room: a moderator creates an
 * ingest (a URL and a secret for the encoder), lists them with their state and health, revokes one.
 */
import { ProtocolError } from '../../../signaling/protocol/index.js';
import type { IngestService } from '../../ingest/IngestService.js';
import { joined, need, type HandlerTable, type JoinedContext } from '../dispatcher.js';

const ingestsOf = ({ services }: JoinedContext): IngestService => {
  if (!services.ingests) throw new ProtocolError('UNAVAILABLE', 'encoder ingest is not available on this server');
  return services.ingests;
};

export const ingestHandlers = {
  createIngest: joined<'createIngest'>(need('moderate', 'create encoder ingests'), (ctx, { protocol, name, site, ttlSeconds }) => {
    const { me, room } = ctx;
    return ingestsOf(ctx).create({
      room: { id: room.id, kind: room.kind, caseId: room.caseId },
      protocol,
      name,
      site: site ?? me.info.site,
      ttlSeconds,
      createdBy: me.info.identity,
    });
  }),

  listIngests: joined<'listIngests'>(need('moderate', 'see encoder ingests'), async (ctx) => ({
    ingests: await ingestsOf(ctx).list(ctx.room.id),
  })),

  revokeIngest: joined<'revokeIngest'>(need('moderate', 'revoke encoder ingests'), async (ctx, { ingestId }) => {
    await ingestsOf(ctx).revoke(ingestId, ctx.room.id, ctx.me.info.identity);
    return {};
  }),
} satisfies Partial<HandlerTable>;
