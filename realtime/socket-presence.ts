import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError, notFound } from '../domain/errors.ts';
import type { Sql } from '../sql/client.ts';
import { isChapterOf } from '../sql/queries/chapters.ts';
import type { Presence } from './presence.ts';
import { invalid, toErrorBody } from './socket-errors.ts';
import { documentIdSchema, documentRoom, type HeraldSocket } from './socket-subscriptions.ts';

const presenceSchema = z.object({
  document_id: documentIdSchema,
  chapter_id: z.uuid().transform((id) => id.toLowerCase()).nullable(),
});

/**
 * Answers one socket's `presence`: the chapter its user is editing now, in a
 * document the socket has subscribed (and joined: a socket that lost access
 * has left the room). Anything else is `not_found`, as for a document the
 * user cannot see.
 */
export function servePresence(socket: HeraldSocket, deps: { sql: Sql; presence: Pick<Presence, 'announce'>; logger: Logger }): void {
  socket.on('presence', async (raw, ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    const parsed = presenceSchema.safeParse(raw);
    if (!parsed.success) return reply(invalid(parsed.error));
    const { document_id, chapter_id } = parsed.data;
    const subscribed = () => {
      if (!socket.rooms.has(documentRoom(document_id))) throw notFound('No such document among those this socket has subscribed.');
    };
    try {
      subscribed();
      if (chapter_id !== null && !(await isChapterOf(deps.sql, chapter_id, document_id))) {
        throw notFound('No such chapter in this document.');
      }
      // Checked again after the read: a socket that left meanwhile must not come back as present.
      subscribed();
      await deps.presence.announce(socket, document_id, chapter_id);
      reply({ ok: true });
    } catch (error) {
      if (!(error instanceof AppError)) deps.logger.error({ err: error, documentId: document_id }, 'presence failed');
      reply({ ok: false, error: toErrorBody(error, 'unavailable') });
    }
  });
}
