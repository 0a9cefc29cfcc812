import { createRoute, z } from '@hono/zod-openapi';
import { createAutosaver, type AutosaveDeps } from '../autosave.ts';
import { createRouter } from '../app-env.ts';
import { ErrorSchema, IdParam, errorResponses } from './schemas.ts';

export type ChapterRoutesDeps = AutosaveDeps;

const AutosaveBody = z
  .object({
    base_version: z.number().int().min(1).openapi({ description: 'The version the edit was made on', example: 3 }),
    content: z.string().openapi({ description: "The chapter's whole new text", example: 'It was snowing harder now.' }),
    op_id: z.string().min(1).max(128).openapi({ description: 'Client-chosen id of this save; repeating it returns the first answer', example: 'c1f0-0007' }),
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
    'The same op_id again (for 48 h) returns the first answer, whatever happened since. Each accepted save pushes ' +
    '`chapter.updated` and schedules the debounced summary refresh, even while Redis is down.',
  request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: AutosaveBody } } } },
  responses: {
    200: { description: 'Saved; `chapter.version` is the new version', content: { 'application/json': { schema: SavedChapterSchema } } },
    409: { description: 'version_conflict, with `current: {version, content}`', content: { 'application/json': { schema: ConflictSchema } } },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

/** `PATCH /api/chapters/:id`. */
export function chapterRoutes(deps: ChapterRoutesDeps) {
  const app = createRouter();
  const autosaver = createAutosaver(deps);
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
