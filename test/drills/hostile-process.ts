/**
 * The hostile user in a process of its own (forked by the hostile-user
 * drill), so building and sending its 10 MiB bodies never delays the normal
 * writer's clock in the drill's process: the two users are two clients.
 * Commands arrive over IPC: `prepare`, `start`, `pause`, `tally`; each is
 * answered `{done: command}` (the tally with its counts).
 */
import { startHostile, type HostileOptions } from './hostile.ts';

type Command = { cmd: 'prepare' | 'start' | 'pause' | 'tally' };

const options = JSON.parse(process.env.HOSTILE_OPTIONS!) as HostileOptions;
const hostile = startHostile(options.api, options.bigDocumentId);

process.on('message', (message: Command) => {
  void (async () => {
    if (message.cmd === 'prepare') await hostile.prepare();
    if (message.cmd === 'start') hostile.start();
    if (message.cmd === 'pause') await hostile.pause();
    const tally = message.cmd === 'tally'
      ? { statuses: [...hostile.tally.statuses].map(([attack, byStatus]) => [attack, [...byStatus]]), findings: hostile.tally.findings }
      : undefined;
    process.send!({ done: message.cmd, tally });
  })().catch((error: Error) => process.send!({ done: message.cmd, error: error.message }));
});
process.once('disconnect', () => process.exit(0));
