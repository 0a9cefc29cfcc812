import { DOCUMENT_KINDS, PACKAGE_STAGES } from '../../domain/vocabulary.ts';
import { createRoute, z } from '@hono/zod-openapi';
import type { Sql } from '../../sql/client.ts';
import { createRouter } from '../app-env.ts';
import { readPackage, requestPackage } from '../services/package-request.ts';
import type { OutboxDispatcher } from '../../jobs/outbox-dispatch.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { IdParam, errorResponses } from './schemas.ts';

export interface PackageRoutesDeps {
  sql: Sql;
  /** Package requests per user (PACKAGE_LIMIT per PACKAGE_WINDOW_SECONDS). */
  packageLimiter: RateLimiter;
  /** Sends the package's event and job right after the commit (OUTBOX_FAST_PATH). */
  outboxDispatcher?: OutboxDispatcher | undefined;
}

const PackageSchema = z
  .object({
    stage: z.enum(PACKAGE_STAGES),
    document_id: z.uuid(),
    title: z.string(),
    kind: z.enum(DOCUMENT_KINDS),
    word_count: z.number().int(),
    reading_minutes: z.number().int(),
    chapter_count: z.number().int(),
    chapters: z.array(z.object({ id: z.uuid(), index: z.number().int(), title: z.string(), version: z.number().int() }).loose()),
    description: z.string(),
    characters: z.array(z.object({ name: z.string(), mentions: z.number().int() })),
    built_at: z.string(),
    outline: z.unknown().optional().openapi({ description: 'full only: {summary, chapters, built_at}' }),
    character_sheets: z.unknown().optional().openapi({ description: 'full only: [{name, mentions, chapters, summary, built_at}]' }),
    key_terms: z.unknown().optional().openapi({ description: 'full only: [{term, count}]' }),
  })
  .loose()
  .openapi('Package');

/** `POST` and `GET /api/documents/:id/package`. */
export function packageRoutes(deps: PackageRoutesDeps) {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/documents/{id}/package',
      summary: 'Build the essential package now (stored data only, no AI) and queue the full one',
      description:
        'Answers with the essential package at once, even with every worker busy or down and with Redis down; ' +
        '`package.essential` and then `package.full` follow on the socket. While a full build is pending, ' +
        'another request returns the same `job_id` and starts nothing new. At most PACKAGE_LIMIT (20) requests per user per sliding ' +
        'PACKAGE_WINDOW_SECONDS (300), shared by every API process; past it 429 `rate_limited` with Retry-After, and nothing is written.',
      request: { params: IdParam },
      responses: {
        202: {
          description: 'The essential package; the full build is queued as `job_id`',
          content: { 'application/json': { schema: z.object({ package: PackageSchema, job_id: z.uuid(), deduplicated: z.boolean() }) } },
        },
        ...errorResponses(401, 403, 404, 429, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await requestPackage(deps.sql, deps.packageLimiter, { documentId: id, userId: c.get('user').id, requestId: c.get('requestId') }, {
        outboxDispatcher: deps.outboxDispatcher,
      });
      return c.json({ package: result.package, job_id: result.jobId, deduplicated: !result.started }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/documents/{id}/package',
      summary: 'The latest package (essential until the full one replaces it), with any artifact refreshed since',
      request: { params: IdParam },
      responses: {
        200: { description: 'The package', content: { 'application/json': { schema: z.object({ package: PackageSchema }) } } },
        ...errorResponses(401, 404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const pkg = await readPackage(deps.sql, id, c.get('user').id);
      return c.json({ package: pkg as z.infer<typeof PackageSchema> }, 200);
    },
  );
  return app;
}
