import { createRoute, z } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { findAccess, removeMember } from '../../sql/queries/members.ts';
import type { Logger } from 'pino';
import { announceAccessRevoked } from '../../realtime/access-revocation.ts';
import { announceDocumentListChange } from '../../realtime/document-list.ts';
import { createRouter } from '../app-env.ts';
import { AppError } from '../errors.ts';
import { ErrorSchema, IdParam, errorResponses } from './schemas.ts';

export interface MemberRoutesDeps {
  sql: Sql;
  redis: Redis;
  prefix: string;
  logger: Logger;
}

const MemberParams = IdParam.extend({
  user_id: z
    .string()
    .min(1)
    .max(128)
    .refine((s) => !s.includes('\u0000'))
    .openapi({ param: { name: 'user_id', in: 'path' }, example: 'ana' }),
});

/** Ending a membership: the owner removes a member, or a member leaves. (Sharing itself is in documents.ts.) */
export function memberRoutes(deps: MemberRoutesDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/documents/{id}/members/{user_id}',
      summary: 'Remove a member (owner), or leave (the member themself); access and live events end at once',
      request: { params: MemberParams },
      responses: {
        204: { description: 'Removed' },
        ...errorResponses(401, 403, 404, 503),
        409: { description: 'owner_cannot_leave: the owner cannot remove themself', content: { 'application/json': { schema: ErrorSchema } } },
      },
    }),
    async (c) => {
      const { id, user_id: memberId } = c.req.valid('param');
      const user = c.get('user');
      const leaving = memberId === user.id;
      const access = requireAccess(await findAccess(deps.sql, id, user.id), leaving ? 'read' : 'own', 'Only the owner can remove other members.');
      // Every document has exactly one owner; a document without one would be nobody's to delete or share.
      if (leaving && access === 'owner') throw new AppError('owner_cannot_leave', 'The owner cannot leave their own document; delete it instead.');
      await deps.sql.begin(async (tx) => {
        if (!(await removeMember(tx, id, memberId))) throw new AppError('not_found', 'That user is not a member of this document.');
        // Before the commit: if Redis refuses, nothing is removed (503) rather than leaving sockets
        // that still get the document's events. Gateways recheck late joins after the commit.
        await announceAccessRevoked(deps.redis, deps.prefix, id, memberId);
      });
      await announceDocumentListChange(deps, [memberId], id, 'removed');
      return c.body(null, 204);
    },
  );
  return app;
}
