import { createRoute, z } from '@hono/zod-openapi';
import { ACCESS_LEVELS, requireAccess } from '../../domain/access.ts';
import { notFound } from '../../domain/errors.ts';
import { findChapterForReader } from '../../sql/queries/chapters.ts';
import { createAutosaver, type AutosaveDeps } from '../services/autosave.ts';
import { createRouter } from '../app-env.ts';
import { ChapterSchema, ErrorSchema, IdParam, errorResponses } from './schemas.ts';

export type ChapterRoutesDeps = AutosaveDeps;

const ChapterWithTextSchema = z
  .object({
    chapter: ChapterSchema.extend({
      document_id: z.uuid(),
      content: z.string(),
      updated_at: z.string(),
    }),
    access: z.enum(ACCESS_LEVELS).openapi({ description: "The caller's access to the document: owners and editors may save, viewers only read" }),
  })
  .openapi('ChapterWithText');

const readChapter = createRoute({
  method: 'get',
  path: '/api/chapters/{id}',
  summary: 'One chapter with its text, version and stored result',
  description:
    'The text and `version` to base the next autosave on. `status`, `progress` and `summary` are the stored result; ' +
    "a chapter's live progress comes with the document's snapshot and its `chapter.status` events.",
  request: { params: IdParam },
  responses: {
    200: { description: 'The chapter', content: { 'application/json': { schema: ChapterWithTextSchema } } },
    ...errorResponses(400, 401, 404, 503),
  },
});

/** The largest version PostgreSQL's integer column holds. */
const MAX_VERSION = 2 ** 31 - 1;
/** An op_id: what a UUID, a ULID or a `<chapter>-<n>` counter is made of. */
const OP_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const AutosaveBody = z
  .object({
    // Versions are PostgreSQL integers and start at 1.
    base_version: z.number().int().min(1).max(MAX_VERSION).openapi({ description: 'The version the edit was made on', example: 3 }),
    content: z.string().openapi({ description: "The chapter's whole new text, at most MAX_CHAPTER_BYTES of UTF-8 (413 past it)", example: 'It was snowing harder now.' }),
    op_id: z
      .string()
      .regex(OP_ID, 'must be 1 to 128 letters, digits, ".", "_", ":" or "-"')
      .openapi({
        description: 'Client-chosen id of this save (a UUID does well); the same op_id with the same chapter and body returns the first answer, ' +
          'with another chapter or body it is a 422 idempotency_mismatch',
        example: 'c1f0-0007',
      }),
  })
  .openapi('Autosave');

const SavedChapterSchema = z
  .object({
    chapter: z.object({
      id: z.uuid(),
      document_id: z.uuid(),
      index: z.number().int(),
      title: z.string(),
      version: z.number().int(),
      word_count: z.number().int(),
      updated_at: z.string(),
    }),
  })
  .openapi('SavedChapter');

const ConflictSchema = ErrorSchema.extend({
  current: z.object({ version: z.number().int(), content: z.string() }),
}).openapi('VersionConflict');

const autosave = createRoute({
  method: 'patch',
  path: '/api/chapters/{id}',
  summary: 'Autosave: compare-and-swap the chapter text on base_version; idempotent per op_id',
  description:
    'Answers 409 version_conflict with the current version and text when base_version is not the current one. ' +
    'The same op_id with the same chapter and body again (for 48 h) returns the first answer, whatever happened since; ' +
    'with another chapter or body it answers 422 idempotency_mismatch. A chapter past MAX_CHAPTER_BYTES is a 413; saves past the ' +
    "user's rate (AUTOSAVE_RATE, AUTOSAVE_BURST) a 429 with Retry-After. Each accepted save pushes " +
    '`chapter.updated` and schedules the debounced summary refresh, even while Redis is down (the rate is then not enforced).',
  request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: AutosaveBody } } } },
  responses: {
    200: { description: 'Saved; `chapter.version` is the new version', content: { 'application/json': { schema: SavedChapterSchema } } },
    409: { description: 'version_conflict, with `current: {version, content}`', content: { 'application/json': { schema: ConflictSchema } } },
    422: {
      description: 'idempotency_mismatch: the op_id was already used for another chapter or another body',
      content: { 'application/json': { schema: ErrorSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 413, 429, 503),
  },
});

/** `GET` and `PATCH /api/chapters/:id`. */
export function chapterRoutes(deps: ChapterRoutesDeps) {
  const app = createRouter();
  const autosaver = createAutosaver(deps);
  app.openapi(readChapter, async (c) => {
    const { id } = c.req.valid('param');
    const row = await findChapterForReader(deps.sql, id, c.get('user').id);
    if (!row) throw notFound();
    const { access, updated_at, ...chapter } = row;
    requireAccess(access, 'read');
    return c.json({ chapter: { ...chapter, updated_at: updated_at.toISOString() }, access }, 200);
  });
  app.openapi(autosave, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const answer = await autosaver.apply({
      chapterId: id,
      userId: c.get('user').id,
      baseVersion: body.base_version,
      content: body.content,
      opId: body.op_id,
      requestId: c.get('requestId'),
    });
    return answer.status === 200
      ? c.json(answer.body as z.infer<typeof SavedChapterSchema>, 200)
      : c.json(answer.body as z.infer<typeof ConflictSchema>, 409);
  });
  return app;
}
