import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { autosave, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { waitFor } from '../support/wait.ts';

const historyOf = (h: TestHerald, chapterId: string) =>
  h.db.sql<{ version: number }[]>`select version from chapter_versions where chapter_id = ${chapterId} order by version`;

describe('autosave bounds: chapter size and per-user rate', () => {
  let h: TestHerald;

  beforeAll(async () => {
    // A bucket of 3 that refills one token in 100 s: nothing refills during the test.
    h = await startTestHerald({ roles: ['api'], env: { AUTOSAVE_RATE: '0.01', AUTOSAVE_BURST: '3', MAX_CHAPTER_BYTES: '200000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 429 rate_limited with Retry-After past the rate, writing nothing, and other users save on', async () => {
    const { chapters } = await upload(h, 'rae', manuscript(1));
    const id = chapters[0]!.id;
    for (const version of [1, 2, 3]) {
      expect((await autosave(h, 'rae', id, { base_version: version, content: `Save ${version}.`, op_id: randomUUID() })).status).toBe(200);
    }
    const res = await h.api('rae', `/api/chapters/${id}`, { method: 'PATCH', json: { base_version: 4, content: 'One too many.', op_id: randomUUID() } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect((await historyOf(h, id)).map((v) => v.version)).toEqual([2, 3, 4]);
    const [row] = await h.db.sql<{ version: number; content: string }[]>`select version, content from chapters where id = ${id}`;
    expect(row).toEqual({ version: 4, content: 'Save 3.' });

    // The bucket is per user.
    const other = await upload(h, 'sam', manuscript(1));
    expect((await autosave(h, 'sam', other.chapters[0]!.id, { base_version: 1, content: 'Sam saves.', op_id: randomUUID() })).status).toBe(200);
  });

  it('charges a save one token per started 64 KiB of text', async () => {
    const { chapters } = await upload(h, 'kim', manuscript(1));
    const id = chapters[0]!.id;
    const big = 'word '.repeat(30_000); // 150,000 bytes: 3 tokens, the whole bucket
    expect((await autosave(h, 'kim', id, { base_version: 1, content: big, op_id: randomUUID() })).status).toBe(200);
    const next = await autosave(h, 'kim', id, { base_version: 2, content: 'Small.', op_id: randomUUID() });
    expect(next.status).toBe(429);
  });

  it('answers 413 payload_too_large past MAX_CHAPTER_BYTES (UTF-8 bytes), naming the limit, and changes nothing', async () => {
    const { chapters } = await upload(h, 'lou', manuscript(1));
    const id = chapters[0]!.id;
    const content = 'é'.repeat(100_001); // 100,001 characters, 200,002 bytes
    const res = await autosave(h, 'lou', id, { base_version: 1, content, op_id: randomUUID() });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toContain('MAX_CHAPTER_BYTES');
    expect(res.body.error.details).toMatchObject({ limit_bytes: 200_000, size_bytes: 200_002 });
    expect(await historyOf(h, id)).toEqual([]);
    // Nothing was spent either: the whole bucket is still there.
    for (const version of [1, 2, 3]) {
      expect((await autosave(h, 'lou', id, { base_version: version, content: `Save ${version}.`, op_id: randomUUID() })).status).toBe(200);
    }
  });
});

describe('autosave while Redis is down: the rate limit lets saves through', () => {
  let redis: PrivateRedis;
  let h: TestHerald;
  const logged: { msg: string }[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });
    h = await startTestHerald({ roles: ['api'], logger, env: { REDIS_URL: redis.url, AUTOSAVE_RATE: '0.01', AUTOSAVE_BURST: '1' } });
  });
  afterAll(async () => {
    if (redis && !redis.running) await redis.restart().catch(() => {});
    await h?.close();
    await redis?.stop();
  });

  it('answers every save while Redis is down, then enforces the rate again once it is back', async () => {
    const { chapters } = await upload(h, 'ada', manuscript(1));
    const id = chapters[0]!.id;
    let version = 1;
    const save = () => autosave(h, 'ada', id, { base_version: version, content: `Save on ${version}.`, op_id: randomUUID() });
    expect((await save()).status).toBe(200);
    version++;
    expect((await save()).status).toBe(429);

    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const res = await save();
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      version = res.body.chapter.version;
    }
    expect((await historyOf(h, id)).map((v) => v.version)).toEqual([2, 3, 4, 5, 6, 7]);
    // Logged once for the outage, counted per save let through.
    expect(logged.filter((l) => l.msg.startsWith('rate limit not enforced'))).toHaveLength(1);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('herald_rate_limit_fail_open_total{limit="autosave"} 5');

    // A fresh Redis holds a full bucket (one save); the limit holds again once the connection is back.
    await redis.restart();
    await waitFor('the rate limit to be enforced again', async () => {
      const res = await save();
      if (res.status === 200) version = res.body.chapter.version;
      return res.status === 429;
    }, 20_000, 100);
    expect(logged.filter((l) => l.msg.startsWith('rate limit enforced again'))).toHaveLength(1);
  });
});
