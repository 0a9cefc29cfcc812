import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { rateLimited } from './errors.ts';

/** One user's share of an API process: requests running, and those waiting for a turn. */
export interface UserConcurrencyOptions {
  /** Requests of one user this process runs at once. */
  concurrency: number;
  /** Requests of one user that may wait for a turn; past it, 429. */
  queue: number;
}

/**
 * Bounds what one user can take of this process: at most `concurrency` of
 * their requests run at once (the rest wait their turn, in order, before
 * their body is read), and at most `queue` wait; past that, 429
 * `rate_limited`. So a user firing dozens of heavy requests at once (10 MiB
 * bodies, big packages) holds a few slices of the event loop, not all of
 * them, and everyone else's requests interleave with theirs. A browser's
 * usual burst (a page loading its document, package and inbox together)
 * only queues for a moment. Per process: with several API processes a user
 * gets this much in each.
 */
export function limitUserConcurrency(options: UserConcurrencyOptions): MiddlewareHandler<AppEnv> {
  const users = new Map<string, { running: number; waiting: (() => void)[] }>();
  return async (c, next) => {
    const id = c.get('user').id;
    let user = users.get(id);
    if (!user) users.set(id, (user = { running: 0, waiting: [] }));
    if (user.running >= options.concurrency) {
      if (user.waiting.length >= options.queue) {
        throw rateLimited(1, `Too many requests of yours at once (${options.concurrency} run, ${options.queue} wait); wait for an answer before sending more.`);
      }
      // The slot is handed over by the request that finishes (running stays counted), so no newcomer can jump the queue.
      await new Promise<void>((resume) => user!.waiting.push(resume));
    } else {
      user.running++;
    }
    try {
      await next();
    } finally {
      const resume = user.waiting.shift();
      if (resume) resume();
      else if (--user.running === 0) users.delete(id);
    }
  };
}
