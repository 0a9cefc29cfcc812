import { createRoute, z } from '@hono/zod-openapi';
import type { RedisClient } from '../../realtime/redis-client.ts';
import { MEMBER_ROLES, requireAccess } from '../../domain/access.ts';
import { isUnavailable } from '../../sql/errors.ts';
import { listDocumentsForUser } from '../../sql/queries/documents.ts';
import { addMember, findAccess } from '../../sql/queries/members.ts';
import { announceDocumentListChange } from '../../realtime/document-list.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import { loadStoredSnapshot, readLiveState } from '../../realtime/snapshot.ts';
import { createRouter } from '../app-env.ts';
import { invalidRequest, memberLimitReached, notFound } from '../errors.ts';
import { removeDocument } from '../services/documents.ts';
import type { UploadRouteDeps } from './document-upload.ts';
import { DocumentDetailSchema, DocumentSchema, ErrorSchema, IdParam, documentView, errorResponses, storableText as text } from './schemas.ts';

export interface DocumentRoutesDeps extends UploadRouteDeps {
  redis: RedisClient;
  prefix: string;
  publisher: Publisher;
  /** Seconds a document's event history outlives its last event (EVENT_HISTORY_TTL_SECONDS). */
  historyTtlSeconds: number;
  /** Members one document may have besides its owner. */
  maxMembersPerDocument: number;
}

const MemberBody = z
  .object({ user_id: text().min(1).max(128), role: z.enum(MEMBER_ROLES) })
  .openapi('AddMember');

const listDocumentsRoute = createRoute({
  method: 'get',
  path: '/api/documents',
  summary: "The caller's documents (owned or shared), newest first",
  responses: {
    200: {
      description: 'Documents',
      content: { 'application/json': { schema: z.object({ documents: z.array(DocumentSchema.extend({ role: z.string(), chapter_count: z.number() })) }) } },
    },
    ...errorResponses(401, 503),
  },
});

const getDocumentRoute = createRoute({
  method: 'get',
  path: '/api/documents/{id}',
  summary: 'A document with its chapters (status, progress, summary, version) and package stage',
  request: { params: IdParam },
  responses: {
    200: { description: 'The document', content: { 'application/json': { schema: DocumentDetailSchema } } },
    ...errorResponses(401, 404, 503),
  },
});

const deleteDocumentRoute = createRoute({
  method: 'delete',
  path: '/api/documents/{id}',
  summary: 'Delete a document (owner only) and cancel its jobs',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
});

const addMemberRoute = createRoute({
  method: 'post',
  path: '/api/documents/{id}/members',
  summary: 'Share a document (owner only) with a user as editor or viewer',
  request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: MemberBody } } } },
  responses: {
    201: {
      description: 'Member added or role changed',
      content: { 'application/json': { schema: z.object({ member: z.object({ document_id: z.uuid(), user_id: z.string(), role: z.string(), created_at: z.string() }) }) } },
    },
    ...errorResponses(400, 401, 403, 404, 503),
    409: { description: 'member_limit_reached: the document has its most members (MAX_MEMBERS_PER_DOCUMENT)', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

/** A document's routes: list, read, delete and share (the upload's are in document-upload.ts, mounted apart by app.ts). */
export function documentRoutes(deps: DocumentRoutesDeps) {
  const app = createRouter();

  app.openapi(listDocumentsRoute, async (c) => {
    const rows = await listDocumentsForUser(deps.sql, c.get('user').id);
    return c.json({ documents: rows.map((r) => ({ ...documentView(r), role: r.role, chapter_count: r.chapter_count })) }, 200);
  });

  app.openapi(getDocumentRoute, async (c) => {
    const { id } = c.req.valid('param');
    // The access and the live state side by side, one round trip the shorter: that read writes nothing (a GET
    // answers no seq, so it starts no history), and a caller without access leaves no trace. The state is read
    // before the rows, as loadSnapshot does. Without Redis the stored rows still answer; only live progress is missing.
    const [access, live] = await Promise.all([
      findAccess(deps.sql, id, c.get('user').id),
      readLiveState(deps.redis, deps.prefix, id, deps.historyTtlSeconds, { start: false }).catch((error: unknown) =>
        isUnavailable(error) ? undefined : Promise.reject(error)),
    ]);
    requireAccess(access, 'read');
    const snapshot = await loadStoredSnapshot(deps.sql, id, live);
    if (!snapshot) throw notFound();
    return c.json(snapshot, 200);
  });

  app.openapi(deleteDocumentRoute, async (c) => {
    const { id } = c.req.valid('param');
    const seenBy = await removeDocument(deps, id, c.get('user').id);
    await announceDocumentListChange(deps, seenBy, id, 'removed');
    return c.body(null, 204);
  });

  app.openapi(addMemberRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const user = c.get('user');
    requireAccess(await findAccess(deps.sql, id, user.id), 'own', 'Only the owner can share a document.');
    if (body.user_id === user.id) throw invalidRequest([{ field: 'user_id', message: 'The owner already has access.' }]);
    const member = await addMember(deps.sql, id, body.user_id, body.role, deps.maxMembersPerDocument);
    if (!member) throw memberLimitReached(deps.maxMembersPerDocument);
    await announceDocumentListChange(deps, [body.user_id], id, 'shared');
    return c.json({ member: { ...member, created_at: member.created_at.toISOString() } }, 201);
  });

  return app;
}
