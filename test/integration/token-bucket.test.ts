import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createTokenBucket, failOpen } from '../../server/rate-limit.ts';
import { freePort } from '../support/private-redis.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

describe('createTokenBucket (token-bucket.lua)', () => {
  const prefix = testPrefix();
  let redis: Redis;

  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(async () => {
    redis?.disconnect();
    await removePrefix(prefix);
  });

  it('spends the burst, then refuses with the wait until the cost is there, taking nothing', async () => {
    const bucket = createTokenBucket(redis, { prefix, name: 'slow', ratePerSecond: 0.01, burst: 3 });
    expect(await bucket.take('ann', 2)).toEqual({ allowed: true });
    // One token left: a cost of 2 is refused (one more token takes 100 s) and spends nothing.
    expect(await bucket.take('ann', 2)).toEqual({ allowed: false, retryAfterSeconds: 100 });
    expect(await bucket.take('ann')).toEqual({ allowed: true });
    expect(await bucket.take('ann')).toEqual({ allowed: false, retryAfterSeconds: 100 });
    // Per subject, under the prefix, and gone once it would be full again.
    expect(await bucket.take('bob', 3)).toEqual({ allowed: true });
    expect(await redis.pttl(`${prefix}:bucket:slow:ann`)).toBeGreaterThan(299_000);
  });

  it('refills at the rate', async () => {
    // 500 ms to refill: long enough that the second take comes before it on a busy machine, short enough to wait for.
    const bucket = createTokenBucket(redis, { prefix, name: 'fast', ratePerSecond: 4, burst: 2 });
    expect(await bucket.take('cy', 2)).toEqual({ allowed: true });
    expect(await bucket.take('cy', 2)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    await waitFor('two tokens back (500 ms at 4 per second)', async () => (await bucket.take('cy', 2)).allowed);
  });

  it('refuses a cost above the burst, which could never be granted', async () => {
    const bucket = createTokenBucket(redis, { prefix, name: 'small', ratePerSecond: 1, burst: 2 });
    await expect(bucket.take('dee', 3)).rejects.toThrow(RangeError);
    await expect(bucket.take('dee', 0)).rejects.toThrow(RangeError);
  });

  it('failOpen lets requests through, counted and logged once, when Redis does not answer', async () => {
    const gone = new Redis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    gone.on('error', () => {});
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    let skipped = 0;
    try {
      const bucket = failOpen(createTokenBucket(gone, { prefix, name: 'open', ratePerSecond: 1, burst: 1 }), {
        name: 'open', logger, onFailOpen: () => skipped++,
      });
      for (let i = 0; i < 3; i++) expect(await bucket.take('eve')).toEqual({ allowed: true });
      expect(skipped).toBe(3);
      expect(lines).toHaveLength(1);
      await expect(bucket.take('eve', 2)).rejects.toThrow(RangeError);
    } finally {
      gone.disconnect();
    }
  });
});
