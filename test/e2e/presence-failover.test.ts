import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeraldProcess, type HeraldProcess } from '../support/cluster.ts';
import { share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { ackPresence, recordPresence, userIds, waitForPresence } from '../support/presence.ts';
import { connectClient } from '../support/socket.ts';

/** The contract's bound for a user whose gateway died (PRESENCE_TTL_MS + PRESENCE_RENEW_MS is 25 s by default). */
const DEAD_GATEWAY_BOUND_MS = 30_000;

describe('presence when a gateway dies', () => {
  let h: TestHerald;
  let doomed: HeraldProcess | undefined;

  beforeAll(async () => {
    // The surviving gateway (and the API) in the test process; the one that dies is a real `--role=gateway` child, default settings.
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    doomed = await startHeraldProcess('gateway', { databaseUrl: h.db.url, prefix: h.prefix });
  }, 60_000);
  afterAll(async () => {
    await doomed?.process.kill();
    await h?.close();
  });

  it('drops the users of a SIGKILLed gateway from the surviving gateway’s list within 30 s', async () => {
    const { documentId } = await upload(h, 'ana', manuscript(1));
    await share(h, 'ana', documentId, 'bo', 'viewer');
    const ana = recordPresence(await connectClient(h.url, await h.token('ana')));
    const bo = recordPresence(await connectClient(doomed!.url, await h.token('bo')));
    try {
      await ana.subscribe({ document_id: documentId });
      expect(userIds(ackPresence(await bo.subscribe({ document_id: documentId })))).toEqual(['ana', 'bo']);
      await waitForPresence(ana, documentId, 'bo (on the doomed gateway) arrives', (users) => users.length === 2);

      // SIGKILL: no close, no goodbye; bo's entry stays in Redis until it lapses and the survivor's renewal prunes it.
      const killedAt = Date.now();
      await doomed!.process.kill();
      await waitForPresence(ana, documentId, 'bo gone after the gateway died', (users) => userIds(users)?.join() === 'ana', DEAD_GATEWAY_BOUND_MS);
      console.info(`presence: a SIGKILLed gateway's user left the survivor's list after ${Date.now() - killedAt} ms`);
    } finally {
      ana.close();
      bo.close();
    }
  }, 60_000);
});
