import { REFRESH_STATUSES } from '../../domain/vocabulary.ts';
import { createRoute, z } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { Sql } from '../../sql/client.ts';
import { createRouter } from '../app-env.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { listRefreshHistory, requestRefresh } from '../services/refresh-request.ts';
import { IdParam, errorResponses } from './schemas.ts';

export interface RefreshRoutesDeps {
  sql: Sql;
  refreshLimiter: RateLimiter;
  logger: Logger;
}

const RefreshSchema = z
  .object({
    job_id: z.uuid(),
    user_id: z.string(),
    status: z.enum(REFRESH_STATUSES),
    created_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi('Refresh');

/** `POST /api/documents/:id/refresh` and its history. */
export function refreshRoutes(deps: RefreshRoutesDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/documents/{id}/refresh',
      summary: 'Re-run every derived artifact at high priority (owner and editors)',
      description:
        'Re-summarises every chapter, then rebuilds the outline, character sheets and full package. At most REFRESH_LIMIT (5) per user per ' +
        'sliding REFRESH_WINDOW_SECONDS (300), shared by every API process; past it 429 `rate_limited` with Retry-After. ' +
        'While a refresh of the document is pending, answers its `job_id` with `deduplicated: true` and counts nothing.',
      request: { params: IdParam },
      responses: {
        202: { description: 'Started or joined', content: { 'application/json': { schema: z.object({ job_id: z.uuid(), deduplicated: z.boolean() }) } } },
        ...errorResponses(401, 403, 404, 429, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await requestRefresh(deps.sql, deps.refreshLimiter, { documentId: id, userId: c.get('user').id, requestId: c.get('requestId') });
      deps.logger.info({ requestId: c.get('requestId'), documentId: id, jobId: result.jobId, deduplicated: result.deduplicated }, 'refresh requested');
      return c.json({ job_id: result.jobId, deduplicated: result.deduplicated }, 202);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/documents/{id}/refreshes',
      summary: 'Refresh history, newest first: who, when, which job, how it ended',
      request: { params: IdParam },
      responses: {
        200: { description: 'Refreshes', content: { 'application/json': { schema: z.object({ refreshes: z.array(RefreshSchema) }) } } },
        ...errorResponses(401, 404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const rows = await listRefreshHistory(deps.sql, id, c.get('user').id);
      return c.json({
        refreshes: rows.map((r) => ({ job_id: r.job_id, user_id: r.user_id, status: r.status, created_at: r.created_at.toISOString(), completed_at: r.completed_at?.toISOString() ?? null })),
      }, 200);
    },
  );
  return app;
}
