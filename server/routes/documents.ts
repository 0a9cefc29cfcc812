import { DOCUMENT_KINDS, type DocumentKind } from '../../domain/vocabulary.ts';
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MEMBER_ROLES, requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { isUnavailable } from '../../sql/errors.ts';
import { deleteDocument, findDocument, listDocumentsForUser, type DocumentRow, type NewChapter } from '../../sql/queries/documents.ts';
import { listChapterKeys } from '../../sql/queries/chapters.ts';
import { addMember, findAccess } from '../../sql/queries/members.ts';
import type { JobQueues } from '../../jobs/queues.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import { loadSnapshot, loadStoredSnapshot } from '../../realtime/snapshot.ts';
import { createRouter } from '../app-env.ts';
import { AppError, invalidRequest, memberLimitReached, notFound } from '../errors.ts';
import { splitChaptersInSlices, type SplitChapter } from '../split-chapters.ts';
import { runInSlices, type Sliced } from '../../jobs/text/slices.ts';
import { insertDocumentWithinQuota, type UploadQuota } from '../upload-quota.ts';
import { decodeUploadedText, isJsonMediaType, mediaTypeOf, singleValuedFields, unsupportedEncoding } from '../upload-input.ts';
import { DocumentDetailSchema, DocumentSchema, ErrorSchema, IdParam, errorResponses } from './schemas.ts';

export interface DocumentRoutesDeps {
  sql: Sql;
  redis: Redis;
  prefix: string;
  queues: JobQueues;
  publisher: Publisher;
  logger: Logger;
  /** Members one document may have besides its owner. */
  maxMembersPerDocument: number;
  /** Largest chapter, in UTF-8 bytes (MAX_CHAPTER_BYTES): an upload may not make a chapter its writer could never save again. */
  maxChapterBytes: number;
  /** Per-user quotas of queued work; unset: none. */
  uploadQuota?: UploadQuota;
}

/** Chapters one upload may hold; beyond it the manuscript is refused rather than half-processed. */
export const MAX_CHAPTERS = 10_000;

/** Text PostgreSQL can store: no NUL characters. */
const text = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL (\\u0000) characters');

const CreateJson = z
  .object({
    title: text().trim().min(1).max(500).openapi({ example: 'The Long Winter' }),
    kind: z.enum(DOCUMENT_KINDS).default('book'),
    content: text().openapi({ example: '# Chapter One\n\nIt was snowing.' }),
  })
  .openapi('CreateDocument');

const CreateForm = z.object({
  // Checked in readUpload: the generated validator also runs on JSON requests, so nothing here may be required.
  file: z.any().optional().openapi({ type: 'string', format: 'binary', description: 'The manuscript (text or Markdown); required' }),
  title: text().max(500).optional(),
  kind: z.enum(DOCUMENT_KINDS).optional(),
});

const createDocument = createRoute({
  method: 'post',
  path: '/api/documents',
  summary: 'Upload a manuscript: store it, split it into chapters, enqueue their processing',
  description:
    'Per-user quotas of queued work: past MAX_QUEUED_CHAPTERS_PER_USER (20,000) chapters queued or running, or ' +
    'MAX_UPLOADS_IN_FLIGHT_PER_USER (50) uploads still processing, 429 `rate_limited` with Retry-After, and nothing is stored. ' +
    'A user with nothing queued can always upload one document within the size and chapter limits.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: CreateJson }, 'multipart/form-data': { schema: CreateForm } },
    },
  },
  responses: {
    202: {
      description: 'Accepted; chapter events follow on the socket',
      content: {
        'application/json': {
          schema: z.object({
            document: DocumentSchema,
            chapters: z.array(z.object({ id: z.uuid(), index: z.number(), title: z.string(), status: z.literal('queued') })),
            job_id: z.uuid(),
          }),
        },
      },
    },
    ...errorResponses(400, 401, 413, 429, 503),
  },
});

const MemberBody = z
  .object({ user_id: text().min(1).max(128), role: z.enum(MEMBER_ROLES) })
  .openapi('AddMember');

export function documentRoutes(deps: DocumentRoutesDeps) {
  const app = createRouter();

  // Two body types: the generated validators would run both, so this route validates
  // with the same schemas by hand and registers them for the OpenAPI reference.
  app.openAPIRegistry.registerPath(createDocument);
  app.post('/api/documents', async (c) => {
    const user = c.get('user');
    const input = await readUpload(c.req.raw, () => c.req.json());
    // In slices, stopping at the first chapter past the limit: a 10 MiB upload never freezes the event loop.
    const parts = await splitChaptersInSlices(input.content, input.kind, { limit: MAX_CHAPTERS });
    if (parts.length === 0) throw invalidRequest([{ field: 'content', message: 'The manuscript is empty.' }]);
    if (parts.length > MAX_CHAPTERS) {
      throw invalidRequest([{ field: 'content', message: `At most ${MAX_CHAPTERS} chapters per manuscript; this one has more.` }]);
    }
    // Sized and given ids in slices too: 10,000 chapters' worth of UUIDs and byte counts is itself tens of ms.
    const chapters = await runInSlices(chapterRows(parts, deps.maxChapterBytes));
    const documentId = randomUUID();
    const jobId = randomUUID();
    // 429 past the user's quota of queued work, with nothing written.
    const document = await insertDocumentWithinQuota(deps.sql, deps.uploadQuota, {
      id: documentId,
      ownerId: user.id,
      title: input.title,
      kind: input.kind,
      wordCount: parts.reduce((n, p) => n + p.wordCount, 0),
      jobId,
      chapters,
    });
    // Enqueued after the commit, so no worker can look for rows that are not visible yet.
    // If Redis refuses, the rows go again: the client gets a 503 and nothing stays half-written.
    try {
      await deps.queues.enqueueIngest({ documentId, jobId, requestId: c.get('requestId'), userId: user.id });
    } catch (error) {
      await deleteDocument(deps.sql, documentId).catch((err) => deps.logger.error({ err, documentId }, 'could not remove a document whose jobs were refused'));
      throw error;
    }
    // The same requestId is in the jobs' data, so the worker's lines about this upload carry it too.
    deps.logger.info({ requestId: c.get('requestId'), documentId, jobId, chapters: chapters.length, userId: user.id }, 'document uploaded');
    return c.json(
      {
        document: documentView(document),
        chapters: chapters.map((ch) => ({ id: ch.id, index: ch.index, title: ch.title, status: 'queued' as const })),
        job_id: jobId,
      },
      202,
    );
  });

  app.openapi(
    createRoute({
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
    }),
    async (c) => {
      const rows = await listDocumentsForUser(deps.sql, c.get('user').id);
      return c.json({ documents: rows.map((r) => ({ ...documentView(r), role: r.role, chapter_count: r.chapter_count })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/documents/{id}',
      summary: 'A document with its chapters (status, progress, summary, version) and package stage',
      request: { params: IdParam },
      responses: {
        200: { description: 'The document', content: { 'application/json': { schema: DocumentDetailSchema } } },
        ...errorResponses(401, 404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      requireAccess(await findAccess(deps.sql, id, c.get('user').id), 'read');
      const snapshot = await loadSnapshot(deps.sql, deps.redis, deps.prefix, id).then(
        (s) => s?.snapshot,
        // Without Redis the stored rows still answer; only live progress is missing.
        (error) => (isUnavailable(error) ? loadStoredSnapshot(deps.sql, id) : Promise.reject(error)),
      );
      if (!snapshot) throw notFound();
      return c.json(snapshot, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/documents/{id}',
      summary: 'Delete a document (owner only) and cancel its jobs',
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      requireAccess(await findAccess(deps.sql, id, c.get('user').id), 'own', 'Only the owner can delete a document.');
      const [chapters, document] = await Promise.all([listChapterKeys(deps.sql, id), findDocument(deps.sql, id)]);
      if (!(await deleteDocument(deps.sql, id))) throw notFound();
      // The rows are gone, so any job still running finds nothing and stops; these clean-ups are best effort.
      await Promise.allSettled([
        deps.queues.cancelIngest(id, document?.job_id ?? '', chapters),
        deps.publisher.forgetDocument(id),
      ]);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
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
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const user = c.get('user');
      requireAccess(await findAccess(deps.sql, id, user.id), 'own', 'Only the owner can share a document.');
      if (body.user_id === user.id) throw invalidRequest([{ field: 'user_id', message: 'The owner already has access.' }]);
      const member = await addMember(deps.sql, id, body.user_id, body.role, deps.maxMembersPerDocument);
      if (!member) throw memberLimitReached(deps.maxMembersPerDocument);
      return c.json({ member: { ...member, created_at: member.created_at.toISOString() } }, 201);
    },
  );

  return app;
}

interface UploadInput {
  title: string;
  kind: DocumentKind;
  content: string;
}

/**
 * The upload as JSON or as a multipart form with a `file`, validated with the
 * documented schemas. `readJson` is the context's (the body was read in slices).
 */
async function readUpload(request: Request, readJson: () => Promise<unknown>): Promise<UploadInput> {
  const mediaType = mediaTypeOf(request.headers.get('content-type'));
  if (mediaType === 'multipart/form-data') {
    const form = await request.formData().catch(() => {
      throw invalidRequest([{ field: '(body)', message: 'The multipart body could not be read.' }]);
    });
    const f = parseOrThrow(CreateForm, singleValuedFields(form, Object.keys(CreateForm.shape)));
    if (!(f.file instanceof File)) throw invalidRequest([{ field: 'file', message: 'A manuscript file is required.' }]);
    const title = f.title?.trim() || f.file.name.replace(/\.[^.]*$/, '').trim() || 'Untitled';
    const content = decodeUploadedText(new Uint8Array(await f.file.arrayBuffer()));
    if (content === undefined) throw unsupportedEncoding();
    if (content.includes('\u0000')) throw invalidRequest([{ field: 'file', message: 'must be text: it contains NUL (\\u0000) characters' }]);
    return { title: title.slice(0, 500), kind: f.kind ?? 'book', content };
  }
  if (isJsonMediaType(mediaType)) {
    const body: unknown = await readJson().catch(() => {
      throw new AppError('invalid_json', 'The body is not valid JSON.');
    });
    return parseOrThrow(CreateJson, body);
  }
  throw invalidRequest([{ field: 'content-type', message: 'must be application/json or multipart/form-data' }]);
}

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
  return parsed.data;
}

function documentView(d: DocumentRow) {
  return {
    id: d.id,
    title: d.title,
    kind: d.kind,
    owner_id: d.owner_id,
    status: d.status,
    word_count: d.word_count,
    created_at: d.created_at.toISOString(),
    updated_at: d.updated_at.toISOString(),
  };
}

/** The upload's chapter rows, each with its id; a 413 naming the first chapter past MAX_CHAPTER_BYTES (no upload makes a chapter its writer could never save). */
function* chapterRows(parts: SplitChapter[], maxChapterBytes: number): Sliced<NewChapter[]> {
  const rows: NewChapter[] = [];
  for (const p of parts) {
    const bytes = Buffer.byteLength(p.content);
    if (bytes > maxChapterBytes) {
      throw new AppError('payload_too_large', `Chapter ${p.index + 1} is larger than MAX_CHAPTER_BYTES (${maxChapterBytes} bytes); split it with headings or paragraph breaks.`, {
        field: 'content', chapter_index: p.index, limit_bytes: maxChapterBytes, size_bytes: bytes,
      });
    }
    rows.push({ id: randomUUID(), index: p.index, title: p.title, content: p.content, wordCount: p.wordCount });
    if (rows.length % 256 === 0) yield;
  }
  return rows;
}
