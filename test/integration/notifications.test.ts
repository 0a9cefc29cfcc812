import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import type { NotificationPayload } from '../../realtime/events.ts';
import { share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import type { ClientSocket } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

interface Inbox {
  socket: ClientSocket;
  received: NotificationPayload[];
  kinds(): string[];
}

/** A socket that records the notifications it receives. */
async function connectInbox(url: string, token: string, notificationsAfter?: string): Promise<Inbox> {
  const socket: ClientSocket = io(url, {
    auth: { token, ...(notificationsAfter && { notifications_after: notificationsAfter }) },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const received: NotificationPayload[] = [];
  socket.on('notification', (n) => received.push(n));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, received, kinds: () => received.map((n) => n.kind) };
}

describe('notifications', () => {
  let h: TestHerald;
  let gateway2: TestHerald;
  const sockets: Inbox[] = [];
  const inbox = async (target: TestHerald, user: string, after?: string) => {
    const s = await connectInbox(target.url, await h.token(user), after);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    h = await startTestHerald();
    gateway2 = await startTestHerald({ roles: ['gateway'], db: h.db, prefix: h.prefix });
  });
  afterAll(async () => {
    for (const s of sockets) s.socket.disconnect();
    await gateway2?.close();
    await h?.close();
  });

  it('reach every socket of the user, on every gateway, and no one else; preferences filter what is pushed, the inbox keeps all', async () => {
    const [first, second, stranger] = [await inbox(h, 'nia'), await inbox(gateway2, 'nia'), await inbox(h, 'eve')];
    const { documentId } = await upload(h, 'nia', manuscript(2));
    for (const s of [first, second]) await waitFor('document.ingested on each of nia\'s sockets', () => s.kinds().includes('document.ingested'));
    expect(first.received[0]).toMatchObject({ kind: 'document.ingested', document_id: documentId, title: expect.any(String), at: expect.any(String) });

    const prefs = await h.api('nia', '/api/notifications/preferences', { method: 'PUT', json: { kinds: ['package.ready'] } });
    expect(prefs.status).toBe(200);
    expect(await prefs.json()).toEqual({ kinds: ['package.ready'] });
    await share(h, 'nia', documentId, 'oli', 'viewer');
    expect((await h.api('nia', `/api/documents/${documentId}/refresh`, { method: 'POST' })).status).toBe(202);
    await waitFor('the refresh to complete', async () => {
      const { refreshes } = (await (await h.api('nia', `/api/documents/${documentId}/refreshes`)).json()) as { refreshes: { status: string }[] };
      return refreshes[0]?.status === 'completed';
    });
    expect((await h.api('nia', `/api/documents/${documentId}/package`, { method: 'POST' })).status).toBe(202);
    for (const s of [first, second]) await waitFor('package.ready on each of nia\'s sockets', () => s.kinds().includes('package.ready'));
    // refresh.done was stored before package.ready was pushed; nia does not want it pushed.
    expect(first.kinds()).not.toContain('refresh.done');
    expect(stranger.received).toEqual([]);

    const list = (await (await h.api('nia', '/api/notifications')).json()) as { notifications: NotificationPayload[]; unread: number };
    expect(list.notifications.map((n) => n.kind)).toEqual(['package.ready', 'refresh.done', 'document.ingested']);
    expect(list.unread).toBe(3);
    const read = await h.api('nia', `/api/notifications/${list.notifications[0]!.id}/read`, { method: 'POST' });
    expect(read.status).toBe(204);
    const after = (await (await h.api('nia', '/api/notifications')).json()) as { notifications: NotificationPayload[]; unread: number };
    expect(after.unread).toBe(2);
    expect(after.notifications.map((n) => n.kind)).toEqual(['refresh.done', 'document.ingested', 'package.ready']);
    expect((await h.api('eve', `/api/notifications/${list.notifications[1]!.id}/read`, { method: 'POST' })).status).toBe(404);
  });

  it('gives an offline user what they missed when a socket connects, after the last one its client acknowledged', async () => {
    const everything = await inbox(h, 'oli');
    await waitFor('oli\'s missed notifications', () => everything.kinds().includes('package.ready'));
    expect(everything.kinds()).toEqual(['refresh.done', 'package.ready']);
    const later = await inbox(gateway2, 'oli', everything.received[0]!.id);
    await waitFor('the notification after the acknowledged one', () => later.kinds().includes('package.ready'));
    expect(later.kinds()).toEqual(['package.ready']);
  });
});
