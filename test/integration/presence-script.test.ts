import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLiveMessage } from '../../realtime/document-feed.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { withHeraldCommands, type HeraldCommands } from '../../realtime/redis-commands.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

const LONG_MS = 60_000;

describe('update-presence.lua against a real Redis', () => {
  const prefix = testPrefix();
  let redis: Redis & HeraldCommands;
  let subscriber: Redis;
  const documentId = randomUUID();
  const keys = documentKeys(prefix, documentId);
  const received: string[] = [];
  const entry = (user: string, chapter: string | null, at = 0) => JSON.stringify({ user_id: user, name: user.toUpperCase(), chapter_id: chapter, at });
  const update = (ttlMs: number, ...fieldValues: string[]) =>
    redis.heraldUpdatePresence(keys.presence, 'publish', keys.channel, documentId, ttlMs, ...fieldValues).then((users) => JSON.parse(users) as unknown[]);
  /** Every message published so far has arrived once this marker has (one channel keeps order). */
  const flush = async () => {
    const marker = `marker-${randomUUID()}`;
    await redis.publish(keys.channel, marker);
    await waitFor('the marker message', () => received.includes(marker));
    return received.filter((m) => !m.startsWith('marker-')).map((m) => parseLiveMessage(m));
  };

  beforeAll(async () => {
    redis = withHeraldCommands(createTestRedis());
    subscriber = createTestRedis();
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe(keys.channel);
  });
  afterAll(async () => {
    subscriber?.disconnect();
    redis?.disconnect();
    await removePrefix(prefix);
  });

  it('folds sockets into one entry per user, and publishes only when the list changes', async () => {
    const chapter = randomUUID();
    expect(await update(LONG_MS, 'g1:s1', entry('bo', null))).toEqual([{ user_id: 'bo', name: 'BO', chapter_id: null }]);
    // A second socket of bo naming a chapter, and ana: one entry each, sorted by user id.
    await update(LONG_MS, 'g1:s2', entry('bo', chapter, 5), 'g2:s1', entry('ana', null));
    // A renewal that changes nothing publishes nothing.
    await update(LONG_MS, 'g1:s1', entry('bo', null), 'g1:s2', entry('bo', chapter, 5));
    // bo's first socket leaving changes nothing either: he is still there, in the same chapter.
    expect(await update(LONG_MS, 'g1:s1', '')).toEqual([
      { user_id: 'ana', name: 'ANA', chapter_id: null },
      { user_id: 'bo', name: 'BO', chapter_id: chapter },
    ]);
    await update(LONG_MS, 'g1:s2', '', 'g2:s1', '');

    const messages = await flush();
    expect(messages.map((m) => (m.kind === 'presence' ? m.presence.users.map((u) => `${u.user_id}:${u.chapter_id ?? '-'}`).join() : m.kind))).toEqual([
      'bo:-',
      `ana:-,bo:${chapter}`,
      '',
    ]);
    expect(messages.every((m) => m.kind === 'presence' && m.presence.document_id === documentId)).toBe(true);
    // Nobody left: the hash is gone rather than kept empty.
    expect(await redis.exists(keys.presence)).toBe(0);
  });

  it('prunes entries that were not renewed in time, on any later call, and expires the hash', async () => {
    await update(LONG_MS, 'alive:s1', entry('ana', null));
    await update(1, 'dead:s1', entry('cy', null));
    // The dead gateway's entry lapsed after 1 ms; the next call by anyone removes it and says so.
    const users = await waitFor('cy pruned', async () => {
      const list = await update(LONG_MS, 'alive:s1', entry('ana', null));
      return list.length === 1 ? list : undefined;
    });
    expect(users).toEqual([{ user_id: 'ana', name: 'ANA', chapter_id: null }]);
    expect(await redis.hkeys(keys.presence)).toEqual(expect.arrayContaining(['alive:s1', 'users']));
    expect(await redis.hexists(keys.presence, 'dead:s1')).toBe(0);
    expect(await redis.pttl(keys.presence)).toBeGreaterThan(0);
  });
});
