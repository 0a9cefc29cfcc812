import { JOB_STATUSES } from '../../domain/vocabulary.ts';
import { createRoute, z } from '@hono/zod-openapi';
import { requireAccess, type Need } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { findJob, listDocumentJobsPage, type JobRow } from '../../sql/queries/jobs.ts';
import { findAccess } from '../../sql/queries/members.ts';
import type { JobControl } from '../../jobs/job-control.ts';
import { jobView } from '../../jobs/job-records.ts';
import { createRouter } from '../app-env.ts';
import { AppError, notFound } from '../errors.ts';
import { decodeCursor, encodeCursor } from '../page-cursor.ts';
import { IdParam, IntQuery, errorResponses } from './schemas.ts';

export interface JobRoutesDeps {
  sql: Sql;
  jobs: JobControl;
}

export const JobSchema = z
  .object({
    id: z.uuid(),
    type: z.string().openapi({ example: 'chapter.process' }),
    queue: z.string(),
    status: z.enum(JOB_STATUSES),
    priority: z.string().openapi({ example: 'normal' }),
    progress: z.number().int(),
    document_id: z.uuid().nullable(),
    chapter_id: z.uuid().nullable().openapi({ description: 'The chapter a chapter job works on; null for other jobs' }),
    user_id: z.string().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    result: z.unknown(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
  })
  .openapi('Job');

const Accepted = z.object({ job: JobSchema, status: z.string() });

/** Jobs per page: `limit` defaults to this and may go up to JOBS_PAGE_MAX. */
const JOBS_PAGE_DEFAULT = 100;
const JOBS_PAGE_MAX = 500;

const JobsPage = z.object({
  limit: IntQuery(1, JOBS_PAGE_MAX).optional().openapi({ description: `jobs per page, ${JOBS_PAGE_DEFAULT} by default, at most ${JOBS_PAGE_MAX}` }),
  cursor: z.string().max(200).optional().openapi({ description: "the previous page's `next_cursor`; omit for the newest jobs" }),
});

/** The job's row if the caller may see it (any access to its document); 404 otherwise. */
async function visibleJob(sql: Sql, id: string, userId: string, need: Need = 'read'): Promise<JobRow> {
  const row = await findJob(sql, id);
  // A job of no document (none today) is nobody's to see.
  if (!row?.document_id) throw notFound();
  requireAccess(await findAccess(sql, row.document_id, userId), need, 'Viewers cannot retry or cancel jobs.');
  return row;
}

/** A job the caller may steer: owners and editors; viewers get 403. */
const steerableJob = (sql: Sql, id: string, userId: string) => visibleJob(sql, id, userId, 'edit');

/** Job records and control: a document's jobs, one job, retry, cancel. */
export function jobRoutes(deps: JobRoutesDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'get', path: '/api/documents/{id}/jobs',
      summary: "The document's jobs, newest first, a page at a time",
      description: 'Pass `next_cursor` back as `cursor` for the next page; it is null on the last one. Jobs created meanwhile never shift a page.',
      request: { params: IdParam, query: JobsPage },
      responses: {
        200: { description: 'A page of jobs', content: { 'application/json': { schema: z.object({ jobs: z.array(JobSchema), next_cursor: z.string().nullable() }) } } },
        ...errorResponses(400, 401, 404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit = JOBS_PAGE_DEFAULT, cursor } = c.req.valid('query');
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      requireAccess(await findAccess(deps.sql, id, c.get('user').id), 'read');
      const rows = await listDocumentJobsPage(deps.sql, id, limit, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const nextCursor = rows.length > limit && last ? encodeCursor({ createdAt: last.page_created_at, id: last.id }) : null;
      return c.json({ jobs: page.map(jobView), next_cursor: nextCursor }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get', path: '/api/jobs/{id}', summary: 'One job', request: { params: IdParam },
      responses: { 200: { description: 'The job', content: { 'application/json': { schema: JobSchema } } }, ...errorResponses(401, 404, 503) },
    }),
    async (c) => c.json(jobView(await visibleJob(deps.sql, c.req.valid('param').id, c.get('user').id)), 200),
  );
  app.openapi(
    createRoute({
      method: 'post', path: '/api/jobs/{id}/retry', summary: 'Retry a failed job (owner and editors)', request: { params: IdParam },
      responses: { 202: { description: 'Queued again; job.update follows', content: { 'application/json': { schema: Accepted } } }, ...errorResponses(401, 403, 404, 409, 503) },
    }),
    async (c) => {
      const row = await steerableJob(deps.sql, c.req.valid('param').id, c.get('user').id);
      if ((await deps.jobs.retry(row)) === 'not_failed') throw new AppError('job_not_failed', `Only a failed job can be retried; this one is ${row.status}.`);
      return c.json({ job: jobView((await findJob(deps.sql, row.id)) ?? row), status: 'queued' }, 202);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete', path: '/api/jobs/{id}',
      summary: 'Cancel a job (owner and editors): a queued one is removed, a running one stops cooperatively and ends cancelled',
      request: { params: IdParam },
      responses: { 202: { description: 'Cancelled, or cancelling (job.update follows)', content: { 'application/json': { schema: Accepted } } }, ...errorResponses(401, 403, 404, 409, 503) },
    }),
    async (c) => {
      const row = await steerableJob(deps.sql, c.req.valid('param').id, c.get('user').id);
      const outcome = await deps.jobs.cancel(row);
      if (outcome === 'finished') throw new AppError('job_finished', `The job has already ended (${row.status}).`);
      return c.json({ job: jobView((await findJob(deps.sql, row.id)) ?? row), status: outcome }, 202);
    },
  );
  return app;
}
