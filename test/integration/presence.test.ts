import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { ackPresence, recordPresence, userIds, waitForPresence, type PresenceClient } from '../support/presence.ts';
import { connectClient } from '../support/socket.ts';

describe('presence: who has a document open', () => {
  let h: TestHerald;
  let second: TestHerald;
  const clients: PresenceClient[] = [];
  const connect = async (user: string, target: TestHerald = h, name?: string) => {
    const client = recordPresence(await connectClient(target.url, await h.token(user, name ? { name } : {})));
    clients.push(client);
    return client;
  };
  /** A document of `owner` shared with `member` (an editor). */
  const sharedDocument = async (owner: string, member: string) => {
    const uploaded = await upload(h, owner, manuscript(2));
    await share(h, owner, uploaded.documentId, member, 'editor');
    return uploaded;
  };

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    second = await startTestHerald({ roles: ['gateway'], db: h.db, prefix: h.prefix });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await second?.close();
    await h?.close();
  });

  it('shows the owner and a member to each other, in the ack and as they come and go, with their names', async () => {
    const { documentId } = await sharedDocument('ana', 'bo');
    const ana = await connect('ana', h, 'Ana Lind');
    const bo = await connect('bo');

    expect(ackPresence(await ana.subscribe({ document_id: documentId }))).toEqual([{ user_id: 'ana', name: 'Ana Lind', chapter_id: null }]);
    // Without a `name` claim the name is the user id.
    expect(ackPresence(await bo.subscribe({ document_id: documentId }))).toEqual([
      { user_id: 'ana', name: 'Ana Lind', chapter_id: null },
      { user_id: 'bo', name: 'bo', chapter_id: null },
    ]);
    await waitForPresence(ana, documentId, 'ana sees bo arrive', (users) => userIds(users)?.join() === 'ana,bo');
    expect(ana.lists.every((l) => !('seq' in l))).toBe(true);
  });

  it('passes on the chapter each user is editing, and a change of it', async () => {
    const { documentId, chapters } = await sharedDocument('ana', 'bo');
    const ana = await connect('ana');
    const bo = await connect('bo');
    await ana.subscribe({ document_id: documentId });
    await bo.subscribe({ document_id: documentId });

    expect(await bo.announce({ document_id: documentId, chapter_id: chapters[0]!.id })).toEqual({ ok: true });
    await waitForPresence(ana, documentId, 'bo edits chapter 1', (users) => users.find((u) => u.user_id === 'bo')?.chapter_id === chapters[0]!.id);
    // An upper-case id names the same document and chapter.
    await bo.announce({ document_id: documentId.toUpperCase(), chapter_id: chapters[1]!.id.toUpperCase() });
    await waitForPresence(ana, documentId, 'bo moves to chapter 2', (users) => users.find((u) => u.user_id === 'bo')?.chapter_id === chapters[1]!.id);
    await bo.announce({ document_id: documentId, chapter_id: null });
    const users = await waitForPresence(ana, documentId, 'bo only reads', (list) => list.find((u) => u.user_id === 'bo')?.chapter_id === null);
    expect(users.find((u) => u.user_id === 'ana')).toEqual({ user_id: 'ana', name: 'ana', chapter_id: null });
  });

  it('lists a user once however many sockets they have, with the chapter they named last', async () => {
    const { documentId, chapters } = await sharedDocument('ana', 'bo');
    const ana = await connect('ana');
    const boTab1 = await connect('bo');
    const boTab2 = await connect('bo');
    await ana.subscribe({ document_id: documentId });
    await boTab1.subscribe({ document_id: documentId });
    expect(userIds(ackPresence(await boTab2.subscribe({ document_id: documentId })))).toEqual(['ana', 'bo']);

    await boTab1.announce({ document_id: documentId, chapter_id: chapters[0]!.id });
    await waitForPresence(ana, documentId, 'bo in chapter 1', (users) => users[1]?.chapter_id === chapters[0]!.id);
    await boTab2.announce({ document_id: documentId, chapter_id: chapters[1]!.id });
    await waitForPresence(ana, documentId, 'bo in chapter 2', (users) => users[1]?.chapter_id === chapters[1]!.id);
    // One tab closing leaves bo present through the other, in the chapter that tab names.
    boTab2.close();
    const users = await waitForPresence(ana, documentId, 'bo back in chapter 1', (list) => list[1]?.chapter_id === chapters[0]!.id);
    expect(userIds(users)).toEqual(['ana', 'bo']);
  });

  it('drops a user who unsubscribes or disconnects', async () => {
    const { documentId } = await sharedDocument('ana', 'bo');
    const ana = await connect('ana');
    await ana.subscribe({ document_id: documentId });

    const bo = await connect('bo');
    await bo.subscribe({ document_id: documentId });
    await waitForPresence(ana, documentId, 'bo arrives', (users) => users.length === 2);
    await bo.unsubscribe(documentId);
    await waitForPresence(ana, documentId, 'bo unsubscribed', (users) => userIds(users)?.join() === 'ana');

    await bo.subscribe({ document_id: documentId });
    await waitForPresence(ana, documentId, 'bo back', (users) => users.length === 2);
    bo.close();
    await waitForPresence(ana, documentId, 'bo disconnected', (users) => userIds(users)?.join() === 'ana');
  });

  it('drops a member whose access is removed, and refuses their announcements from then on', async () => {
    const { documentId, chapters } = await sharedDocument('ana', 'bo');
    const ana = await connect('ana');
    const bo = await connect('bo');
    await ana.subscribe({ document_id: documentId });
    await bo.subscribe({ document_id: documentId });
    await waitForPresence(ana, documentId, 'bo arrives', (users) => users.length === 2);

    const removed = await h.api('ana', `/api/documents/${documentId}/members/bo`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    await waitForPresence(ana, documentId, 'bo gone with his access', (users) => userIds(users)?.join() === 'ana');
    expect(await bo.announce({ document_id: documentId, chapter_id: chapters[0]!.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(userIds(ana.latest(documentId))).toEqual(['ana']);
  });

  it('shows nothing to a non-member and lets them announce nothing', async () => {
    const { documentId, chapters } = await sharedDocument('ana', 'bo');
    const ana = await connect('ana');
    const eve = await connect('eve');
    await ana.subscribe({ document_id: documentId });

    expect(await eve.subscribe({ document_id: documentId })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await eve.announce({ document_id: documentId, chapter_id: chapters[0]!.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const bo = await connect('bo');
    await bo.subscribe({ document_id: documentId });
    await waitForPresence(ana, documentId, 'bo arrives', (users) => users.length === 2);
    // Once ana has seen bo's arrival, eve's socket would have too, had she been let in.
    await eve.unsubscribe(randomUUID());
    expect(eve.lists).toEqual([]);
    expect(userIds(ana.latest(documentId))).toEqual(['ana', 'bo']);
  });

  it('refuses bad payloads, chapters of another document and documents not subscribed, in the ack', async () => {
    const { documentId, chapters } = await sharedDocument('ana', 'bo');
    const other = await upload(h, 'ana', manuscript(1));
    const ana = await connect('ana');

    expect(await ana.announce({ document_id: documentId, chapter_id: null })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    await ana.subscribe({ document_id: documentId });
    for (const bad of [{}, { document_id: 'nope', chapter_id: null }, { document_id: documentId }, { document_id: documentId, chapter_id: 42 }, { document_id: documentId, chapter_id: 'x' }]) {
      const ack = await ana.announce(bad);
      expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_request', message: expect.any(String) } });
    }
    expect(await ana.announce({ document_id: documentId, chapter_id: other.chapters[0]!.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ana.announce({ document_id: documentId, chapter_id: randomUUID() })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ana.announce({ document_id: documentId, chapter_id: chapters[0]!.id })).toEqual({ ok: true });
  });

  it('shows users of another gateway on the same Redis, and drops them when that gateway closes', async () => {
    const { documentId, chapters } = await sharedDocument('ana', 'bo');
    const third = await startTestHerald({ roles: ['gateway'], db: h.db, prefix: h.prefix });
    let closed = false;
    try {
      const ana = await connect('ana', h);
      const bo = await connect('bo', second);
      const cy = await connect('ana', third);
      await ana.subscribe({ document_id: documentId });
      expect(userIds(ackPresence(await bo.subscribe({ document_id: documentId })))).toEqual(['ana', 'bo']);
      await bo.announce({ document_id: documentId, chapter_id: chapters[1]!.id });
      await waitForPresence(ana, documentId, 'bo (gateway 2) in chapter 2', (users) => users[1]?.chapter_id === chapters[1]!.id);

      // ana's second socket, on a third gateway, names a chapter; closing that gateway takes it away at once.
      await cy.subscribe({ document_id: documentId });
      await cy.announce({ document_id: documentId, chapter_id: chapters[0]!.id });
      await waitForPresence(bo, documentId, 'ana in chapter 1 through gateway 3', (users) => users[0]?.chapter_id === chapters[0]!.id);
      closed = true;
      await third.close();
      await waitForPresence(bo, documentId, 'gateway 3 gone', (users) => users[0]?.user_id === 'ana' && users[0].chapter_id === null);
    } finally {
      if (!closed) await third.close();
    }
  });
});
