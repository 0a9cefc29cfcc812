import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { HeraldClient } from '../../realtime/client/index.ts';
import type { AuthExpiredPayload, UnsubscribeAck } from '../../realtime/events.ts';
import { createPublisher, type Publisher } from '../../realtime/publisher.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { recordStore, upload, waitForStoreDone } from '../support/sdk.ts';
import { connectClient, connectError, type ClientSocket } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

describe('per-socket limits, token expiry and origins', () => {
  let h: TestHerald;
  let redis: Redis;
  let publisher: Publisher;
  const docs: string[] = [];

  beforeAll(async () => {
    h = await startTestHerald({
      env: {
        SOCKET_RATE_LIMIT: '10',
        SOCKET_RATE_BURST: '20',
        SOCKET_MAX_SUBSCRIPTIONS: '2',
        SOCKET_MAX_MESSAGE_BYTES: '4096',
        CORS_ORIGINS: 'https://app.example',
      },
    });
    redis = createTestRedis();
    publisher = createPublisher({ redis, prefix: h.prefix, streamMaxLen: 2000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
    for (let i = 0; i < 3; i++) docs.push(await upload(h, 'ola', manuscript(1)));
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  it('refuses a socket past its message rate, then cuts it off, while another socket’s events keep flowing', async () => {
    const victim = await connectClient(h.url, await h.token('ola'));
    await victim.subscribe({ document_id: docs[0]! });
    const flooder = await connectClient(h.url, await h.token('flo'));
    // One message within the limit, answered before the flood: allowed messages are handled a tick after they
    // pass the limiter, so those that arrive in the same batch as the cut-off are dropped with the socket.
    const acks: UnsubscribeAck[] = [await flooder.socket.timeout(10_000).emitWithAck('unsubscribe', { document_id: docs[1]! })];
    const cutOff = new Promise<string>((resolve) => flooder.socket.once('disconnect', resolve));

    // Flood with cheap messages while 20 events are published to the victim's document.
    const flood = (async () => {
      for (let i = 0; i < 5000 && flooder.socket.connected; i++) {
        flooder.socket.emit('unsubscribe', { document_id: docs[1]! }, (ack: UnsubscribeAck) => acks.push(ack));
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    const published: number[] = [];
    for (let i = 0; i < 20; i++) {
      published.push((await publisher.publish(docs[0]!, 'artifact.stale', { artifact: 'outline', dirty_count: i })).seq);
      await new Promise((r) => setTimeout(r, 5));
    }
    await flood;

    expect(await cutOff).toBe('io server disconnect');
    expect(acks.some((a) => a.ok)).toBe(true);
    expect(acks.some((a) => !a.ok && a.error.code === 'rate_limited')).toBe(true);
    // Only the published events: the document's own jobs may still announce job.update.
    const stale = () => victim.of(docs[0]!).filter((e) => e.name === 'artifact.stale');
    await waitFor('the victim to get every event', () => stale().length === published.length);
    expect(stale().map((e) => e.event.seq)).toEqual(published);
    expect(victim.socket.connected).toBe(true);
    victim.close();

    // Coming straight back would give the flooder a fresh bucket: its user is refused for a while instead.
    expect(await connectError(h.url, { token: await h.token('flo') })).toMatchObject({ data: { code: 'rate_limited' } });
  });

  it('refuses a subscription past SOCKET_MAX_SUBSCRIPTIONS', async () => {
    const client = await connectClient(h.url, await h.token('ola'));
    expect(await client.subscribe({ document_id: docs[0]! })).toMatchObject({ ok: true });
    expect(await client.subscribe({ document_id: docs[1]! })).toMatchObject({ ok: true });
    expect(await client.subscribe({ document_id: docs[2]! })).toMatchObject({ ok: false, error: { code: 'too_many_subscriptions' } });
    client.close();
  });

  it('closes a socket that sends a message larger than SOCKET_MAX_MESSAGE_BYTES', async () => {
    const client = await connectClient(h.url, await h.token('ola'));
    const closed = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    client.socket.emit('subscribe', { document_id: docs[0]!, epoch: 'x'.repeat(10_000) }, () => {});
    expect(await closed).toBe('transport close');
  });

  it('tells a socket its token expired and disconnects it', async () => {
    const client = await connectClient(h.url, await h.token('ola', { expiresInSeconds: 2 }));
    const told = new Promise<AuthExpiredPayload>((resolve) => client.socket.once('auth.expired', resolve));
    const reason = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    expect(await told).toMatchObject({ code: 'token_expired' });
    expect(await reason).toBe('io server disconnect');
  });

  it('lets the SDK refresh an expired token and resume where it was', async () => {
    let refreshed = 0;
    const client = HeraldClient.connect({
      url: h.url,
      token: await h.token('ola', { expiresInSeconds: 2 }),
      refreshToken: async () => {
        refreshed++;
        return h.token('ola', { expiresInSeconds: 3600 });
      },
    });
    const store = client.watch(docs[0]!);
    const log = recordStore(store);
    await waitForStoreDone(store);
    const expired = new Promise<void>((resolve) => client.on('auth.expired', () => resolve()));
    await expired;
    await waitFor('the client to come back with a fresh token', () => refreshed === 1 && client.status === 'connected');
    const event = await publisher.publish(docs[0]!, 'artifact.stale', { artifact: 'character', name: 'Mara', dirty_count: 1 });
    await waitFor('the event after the refresh', () => store.seq === event.seq);
    expect(log.resets.map((r) => r.reason)).toEqual(['snapshot']);
    client.close();
  });

  it('accepts sockets from its own origin and CORS_ORIGINS only', async () => {
    const token = await h.token('ola');
    const host = new URL(h.url).host;
    const refused = await connectError(h.url, { token }, { origin: 'https://evil.example' });
    expect(refused.message).toMatch(/origin not allowed|websocket error/i);
    for (const origin of [`http://${host}`, 'https://app.example']) {
      const socket: ClientSocket = io(h.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { origin } });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      socket.disconnect();
    }
  });

  it('answers API preflights for CORS_ORIGINS and not for others', async () => {
    const preflight = (origin: string) =>
      fetch(`${h.url}/api/documents`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
