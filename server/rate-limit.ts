import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** A limit's verdict: accepted, or refused with the wait until a slot frees. */
export type Verdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Counts one request of `subject` if the window has room. */
  take(subject: string): Promise<Verdict>;
}

interface SlidingWindowCommand {
  heraldSlidingWindowLimit(key: string, windowMs: number, limit: number, member: string): Promise<[number, number]>;
}

let source: string | undefined;

/**
 * `limit` requests per sliding `windowSeconds` per subject, kept in Redis
 * under `<prefix>:ratelimit:<name>:<subject>` and checked by one Lua script
 * (sliding-window-limit.lua), so every API process shares the window.
 */
export function createRateLimiter(redis: Redis, options: { prefix: string; name: string; limit: number; windowSeconds: number }): RateLimiter {
  source ??= readFileSync(new URL('./lua/sliding-window-limit.lua', import.meta.url), 'utf8');
  const commands = redis as Redis & Partial<SlidingWindowCommand>;
  if (!commands.heraldSlidingWindowLimit) redis.defineCommand('heraldSlidingWindowLimit', { numberOfKeys: 1, lua: source });
  const windowMs = options.windowSeconds * 1000;
  return {
    async take(subject) {
      const key = `${options.prefix}:ratelimit:${options.name}:${subject}`;
      const [allowed, waitMs] = await (commands as Redis & SlidingWindowCommand).heraldSlidingWindowLimit(key, windowMs, options.limit, randomUUID());
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(waitMs) / 1000)) };
    },
  };
}
