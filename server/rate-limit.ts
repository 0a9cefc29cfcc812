import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from '../realtime/redis-client.ts';
import type { Logger } from 'pino';

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
export function createRateLimiter(redis: RedisClient, options: { prefix: string; name: string; limit: number; windowSeconds: number }): RateLimiter {
  source ??= readFileSync(new URL('./lua/sliding-window-limit.lua', import.meta.url), 'utf8');
  const commands = redis as RedisClient & Partial<SlidingWindowCommand>;
  if (!commands.heraldSlidingWindowLimit) redis.defineCommand('heraldSlidingWindowLimit', { numberOfKeys: 1, lua: source });
  const windowMs = options.windowSeconds * 1000;
  return {
    async take(subject) {
      const key = `${options.prefix}:ratelimit:${options.name}:${subject}`;
      const [allowed, waitMs] = await (commands as RedisClient & SlidingWindowCommand).heraldSlidingWindowLimit(key, windowMs, options.limit, randomUUID());
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(waitMs) / 1000)) };
    },
  };
}

/** A token bucket's take: `cost` tokens (default 1) of `subject`'s bucket, or the wait until it holds them. */
export interface TokenBucket {
  /** The bucket's capacity: the largest cost `take` accepts. */
  readonly burst: number;
  take(subject: string, cost?: number): Promise<Verdict>;
}

export interface TokenBucketOptions {
  prefix: string;
  /** Names the limit in its keys: `<prefix>:bucket:<name>:<subject>`. */
  name: string;
  /** Tokens each subject regains per second (may be fractional). */
  ratePerSecond: number;
  /** Each subject's capacity: what it may spend at once after a quiet while. */
  burst: number;
}

interface TokenBucketCommand {
  heraldTokenBucket(key: string, ratePerSecond: number, burst: number, cost: number): Promise<[number, number]>;
}

let bucketSource: string | undefined;

/**
 * A token bucket per subject, kept in Redis and checked by one Lua script
 * (token-bucket.lua), so every API process shares each subject's bucket.
 * A subject starts full, regains `ratePerSecond` tokens a second up to
 * `burst`, and a take that would go below zero takes nothing and says how
 * long to wait. Rejects (a Redis error) when Redis does not answer; see
 * `failOpen` for limits that must not stop work while Redis is away.
 */
export function createTokenBucket(redis: RedisClient, options: TokenBucketOptions): TokenBucket {
  bucketSource ??= readFileSync(new URL('./lua/token-bucket.lua', import.meta.url), 'utf8');
  const commands = redis as RedisClient & Partial<TokenBucketCommand>;
  if (!commands.heraldTokenBucket) redis.defineCommand('heraldTokenBucket', { numberOfKeys: 1, lua: bucketSource });
  const { ratePerSecond, burst } = options;
  return {
    burst,
    async take(subject, cost = 1) {
      if (!(cost > 0 && cost <= burst)) throw new RangeError(`a token bucket take costs more than 0 and at most its burst (${burst}), not ${cost}`);
      const key = `${options.prefix}:bucket:${options.name}:${subject}`;
      const [allowed, waitMs] = await (commands as RedisClient & TokenBucketCommand).heraldTokenBucket(key, ratePerSecond, burst, cost);
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(waitMs) / 1000)) };
    },
  };
}

export interface FailOpenOptions {
  /** Names the limit in the log lines. */
  name: string;
  logger: Logger;
  /** How long to wait for Redis before letting the request through. Default 250 ms. */
  timeoutMs?: number;
  /** Called for each request let through because Redis did not answer (a metric). */
  onFailOpen?: () => void;
}

/**
 * The same limit, but when Redis does not answer (down, or slower than
 * `timeoutMs`) the request is let through: for limits that guard against
 * abuse and must not turn a Redis outage into an outage of the work itself.
 * An outage is logged once when it starts and once when Redis answers again.
 */
export function failOpen<L extends RateLimiter | TokenBucket>(limiter: L, options: FailOpenOptions): L {
  const timeoutMs = options.timeoutMs ?? 250;
  let open = false;
  return {
    ...limiter,
    async take(subject: string, cost?: number) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const verdict = await Promise.race([(limiter as TokenBucket).take(subject, cost), timeout]);
        if (open) options.logger.info({ limit: options.name }, 'rate limit enforced again: RedisClient answers');
        open = false;
        return verdict;
      } catch (error) {
        if (error instanceof RangeError) throw error;
        if (!open) options.logger.warn({ limit: options.name, err: (error as Error).message }, 'rate limit not enforced while Redis does not answer: requests go through');
        open = true;
        options.onFailOpen?.();
        return { allowed: true };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
