import { createRoute, z } from '@hono/zod-openapi';
import { QUEUES } from '../../jobs/contracts.ts';
import type { JobControl, QueueCounts } from '../../jobs/job-control.ts';
import type { Sql } from '../../sql/client.ts';
import type { JobStatus } from '../../domain/vocabulary.ts';
import { countUserJobs } from '../../sql/queries/jobs.ts';
import { createRouter } from '../app-env.ts';
import { errorResponses } from './schemas.ts';

export interface QueueRoutesDeps {
  sql: Sql;
  jobs: JobControl;
  /** Users who see every user's counts (ADMIN_USERS); everyone else sees their own. */
  adminUsers: readonly string[];
}

const Counts = z.object({ name: z.string(), waiting: z.number(), active: z.number(), delayed: z.number(), completed: z.number(), failed: z.number(), paused: z.number() });

/**
 * `GET /api/queues`: BullMQ's counts for admins; for anyone else, counts of
 * their own jobs from the job records, so no user learns how much work
 * other users have queued.
 */
export function queueRoutes(deps: QueueRoutesDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'get', path: '/api/queues',
      summary: "Job counts per queue: every user's for ADMIN_USERS (scope `all`), the caller's own jobs for anyone else (scope `own`)",
      responses: {
        200: { description: 'Counts', content: { 'application/json': { schema: z.object({ scope: z.enum(['all', 'own']), queues: z.array(Counts) }) } } },
        ...errorResponses(401, 503),
      },
    }),
    async (c) => {
      const userId = c.get('user').id;
      if (deps.adminUsers.includes(userId)) return c.json({ scope: 'all' as const, queues: await deps.jobs.counts() }, 200);
      return c.json({ scope: 'own' as const, queues: ownCounts(await countUserJobs(deps.sql, userId)) }, 200);
    },
  );
  return app;
}

/** A job record's status as the queue count it falls under; cancelled jobs have left their queue. */
const COUNTED_AS = { queued: 'waiting', processing: 'active', completed: 'completed', failed: 'failed', cancelled: undefined } as const satisfies Record<JobStatus, keyof QueueCounts | undefined>;

function ownCounts(rows: { queue: string; status: JobStatus; n: number }[]): QueueCounts[] {
  return Object.values(QUEUES).map((name) => {
    const counts: QueueCounts = { name, waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0 };
    for (const row of rows) {
      const field = COUNTED_AS[row.status];
      if (row.queue === name && field) counts[field] += row.n;
    }
    return counts;
  });
}
