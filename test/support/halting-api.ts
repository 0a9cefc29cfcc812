/**
 * An API process whose outbox fast path stops for good at one point, so a
 * test can SIGKILL it exactly there: `node --import tsx test/support/halting-api.ts`
 * with Herald's env plus HALT_OUTBOX_AT=publish (the save committed, nothing
 * sent) or delete (events and jobs sent, rows not yet deleted). Prints
 * `outbox halted before <point>` when it gets there.
 */
import { loadConfig } from '../../server/config.ts';
import { startHerald } from '../../server/herald.ts';

const point = process.env.HALT_OUTBOX_AT;
if (point !== 'publish' && point !== 'delete') throw new Error('HALT_OUTBOX_AT must be publish or delete');

const halt = async () => {
  console.log(`outbox halted before ${point}`);
  await new Promise(() => {});
};
await startHerald({
  config: loadConfig(process.env),
  roles: ['api'],
  outboxHooks: point === 'publish' ? { beforePublish: halt } : { beforeDelete: halt },
});
