import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseRoles, poolSizeFor } from '../../server/config.ts';

describe('configuration', () => {
  it('uses the contract’s defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/herald',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'herald',
      maxUploadBytes: 10 * 1024 * 1024,
      ai: { provider: 'builtin', simulatedLatencyMs: 0 },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ai)).toBe(true);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'abc', WORKER_CONCURRENCY: '0', REDIS_PREFIX: 'has space', AI_PROVIDER: 'magic' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      for (const name of ['PORT', 'WORKER_CONCURRENCY', 'REDIS_PREFIX', 'AI_PROVIDER']) expect(message).toContain(name);
    }
  });

  it('bounds autosave and keeps chapter history by default, and names bad values', () => {
    const config = loadConfig({});
    expect(config.autosave).toEqual({ maxChapterBytes: 1024 * 1024, ratePerSecond: 20, burst: 100 });
    expect(config.chapterHistory).toEqual({ keep: 50, hourlyDays: 30 });
    expect(loadConfig({ AUTOSAVE_RATE: '0.5', CHAPTER_HISTORY_KEEP: '10' })).toMatchObject({ autosave: { ratePerSecond: 0.5 }, chapterHistory: { keep: 10 } });
    const bad = () => loadConfig({ MAX_CHAPTER_BYTES: '10', AUTOSAVE_RATE: '0', AUTOSAVE_BURST: 'x', CHAPTER_HISTORY_KEEP: '0', CHAPTER_HISTORY_HOURLY_DAYS: '-1' });
    for (const name of ['MAX_CHAPTER_BYTES', 'AUTOSAVE_RATE', 'AUTOSAVE_BURST', 'CHAPTER_HISTORY_KEEP', 'CHAPTER_HISTORY_HOURLY_DAYS']) expect(bad).toThrow(name);
  });

  it('reads REDIS_CLUSTER_NODES as host:port seeds and names a bad one', () => {
    expect(loadConfig({}).redisClusterNodes).toEqual([]);
    expect(loadConfig({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001,[::1]:7002 ' }).redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    for (const bad of ['10.0.0.1', 'redis://10.0.0.1:7000', '10.0.0.1:0', '10.0.0.1:70000', 'a b:7000']) {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES: a comma-separated list of host:port/);
    }
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3000);
  });

  it('requires AUTH_SECRET in production and an API key for the openai provider', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_SECRET/);
    expect(() => loadConfig({ AI_PROVIDER: 'openai' })).toThrow(/AI_API_KEY/);
  });

  it('sizes the PostgreSQL pool by role unless DATABASE_POOL_SIZE says otherwise', () => {
    const defaults = loadConfig({});
    expect(poolSizeFor(defaults, ['api', 'gateway', 'worker'])).toBe(20);
    expect(poolSizeFor(defaults, ['worker'])).toBe(20);
    expect(poolSizeFor(defaults, ['api', 'gateway'])).toBe(10);
    const sized = loadConfig({ DATABASE_POOL_SIZE: '4' });
    expect(poolSizeFor(sized, ['worker'])).toBe(4);
    expect(poolSizeFor(sized, ['api'])).toBe(4);
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
  });

  it('uses DATABASE_URL for everything unless DATABASE_DIRECT_URL is set, and names a bad one', () => {
    expect(loadConfig({}).databaseDirectUrl).toBeUndefined();
    const direct = 'postgres://herald@db.internal:5432/herald';
    expect(loadConfig({ DATABASE_URL: 'postgres://herald@pgbouncer:6432/herald', DATABASE_DIRECT_URL: direct }).databaseDirectUrl).toBe(direct);
    expect(() => loadConfig({ DATABASE_DIRECT_URL: 'not a url' })).toThrow(/DATABASE_DIRECT_URL/);
  });

  it('keeps a document’s event history for 7 days after its last event by default', () => {
    expect(loadConfig({}).events).toEqual({ streamMaxLen: 2000, ttlSeconds: 7 * 86_400 });
    expect(loadConfig({ EVENT_HISTORY_TTL_SECONDS: '3600' }).events.ttlSeconds).toBe(3600);
    expect(() => loadConfig({ EVENT_HISTORY_TTL_SECONDS: 'week' })).toThrow(/EVENT_HISTORY_TTL_SECONDS/);
  });

  it('parses roles', () => {
    expect(parseRoles([])).toEqual(['api', 'gateway', 'worker']);
    expect(parseRoles(['--role=api,worker'])).toEqual(['api', 'worker']);
    expect(parseRoles(['--role', 'gateway'])).toEqual(['gateway']);
    expect(() => parseRoles(['--role=api,cook'])).toThrow(/cook/);
  });
});
