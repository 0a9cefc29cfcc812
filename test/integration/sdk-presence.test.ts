import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient, type PresenceUser } from '../../realtime/client/index.ts';
import { share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { serverSockets } from '../support/sdk.ts';
import { waitFor } from '../support/wait.ts';

describe('the SDK keeps who has a document open', () => {
  let h: TestHerald;
  const clients: HeraldClient[] = [];
  const connect = async (user: string) => {
    const client = HeraldClient.connect({ url: h.url, token: await h.token(user) });
    clients.push(client);
    return client;
  };
  const chapterOf = (users: PresenceUser[], user: string) => users.find((u) => u.user_id === user)?.chapter_id;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fills `presence` from the ack and the events, and sends the chapter again after a reconnect', async () => {
    const { documentId, chapters } = await upload(h, 'ana', manuscript(2));
    await share(h, 'ana', documentId, 'bo', 'editor');
    const ana = (await connect('ana')).watch(documentId);
    const changes: PresenceUser[][] = [];
    ana.on('presence', (users) => changes.push(users));
    await ana.ready();
    await waitFor('ana in her own list', () => ana.presence.length === 1);

    // Named before the subscription is even acknowledged: the client sends it once it is.
    const bo = (await connect('bo')).watch(documentId);
    bo.announce(chapters[1]!.id);
    await waitFor('ana sees bo in chapter 2', () => chapterOf(ana.presence, 'bo') === chapters[1]!.id);
    await waitFor('bo sees both', () => bo.presence.length === 2);
    expect(changes.length).toBeGreaterThan(1);

    // The server drops bo's socket: bo leaves, then comes back in the same chapter without being asked.
    const boSocket = serverSockets(h).find((s) => s.data.userId === 'bo')!;
    const before = changes.length;
    boSocket.disconnect(true);
    await waitFor('bo back in chapter 2 after the reconnect', () =>
      changes.slice(before).some((users) => !users.some((u) => u.user_id === 'bo')) && chapterOf(ana.presence, 'bo') === chapters[1]!.id,
    );
    bo.announce(null);
    await waitFor('bo only reading', () => chapterOf(ana.presence, 'bo') === null);
  });
});
