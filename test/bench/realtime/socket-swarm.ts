/**
 * Many real socket.io-client sockets in one process, driven by its parent
 * over IPC: connect N sockets (to Herald, subscribing to a document, or to
 * the bare relay, joining its room), record each event's push latency from
 * the publish time it carries, report the samples. Several swarms spread
 * the client work over processes (and file descriptors).
 */
import { io, type Socket } from 'socket.io-client';

export type SwarmCommand =
  | {
      cmd: 'connect';
      url: string;
      target: 'herald' | 'bare';
      count: number;
      token: string;
      documentId: string;
      /** Spread the sockets over these documents instead (socket i watches documentIds[i % n]). */
      documentIds?: string[];
      subscribe: boolean;
    }
  | { cmd: 'subscribe' }
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'close' };

export type SwarmReply =
  | { reply: 'connected'; connected: number; failed: number; subscribed: number }
  | { reply: 'subscribed'; subscribed: number }
  | { reply: 'reset' }
  | { reply: 'report'; samples: number[]; received: number; events: number }
  | { reply: 'closed' };

const sockets: Socket[] = [];
let samples: number[] = [];
let target: 'herald' | 'bare' = 'herald';
let documentIds: string[] = [];
/** Every event the sockets received since the last reset, whatever its name. */
let events = 0;
const now = () => performance.timeOrigin + performance.now();
const send = (message: SwarmReply) => process.send!(message);

function onEvent(event: { job?: { t0?: number } }): void {
  const t0 = event.job?.t0;
  if (typeof t0 === 'number') samples.push(now() - t0);
}

function connectOne(url: string, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000 });
    socket.on('job.update', onEvent);
    socket.onAny(() => void events++);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

function subscribeOne(socket: Socket, i: number): Promise<unknown> {
  return target === 'herald'
    ? socket.timeout(60_000).emitWithAck('subscribe', { document_id: documentIds[i % documentIds.length] })
    : socket.timeout(60_000).emitWithAck('join', {});
}

/** Runs `work` over `items` with at most `limit` in flight, so thousands of handshakes do not all start at once. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i).then((value) => ({ status: 'fulfilled', value }) as const, (reason) => ({ status: 'rejected', reason }) as const);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

process.on('message', async (message: SwarmCommand) => {
  switch (message.cmd) {
    case 'connect': {
      target = message.target;
      documentIds = message.documentIds ?? [message.documentId];
      const results = await pool(Array.from({ length: message.count }), 200, () => connectOne(message.url, message.token));
      for (const r of results) if (r.status === 'fulfilled') sockets.push(r.value);
      const refusedConnect = results.find((r) => r.status === 'rejected');
      if (refusedConnect) console.error(`socket swarm: ${results.length - sockets.length} sockets did not connect, e.g. ${String((refusedConnect as PromiseRejectedResult).reason)}`);
      const acks = message.subscribe ? await pool(sockets, 200, subscribeOne) : [];
      // Herald answers a subscription { ok }; the bare relay's join acknowledges with nothing.
      const refused = acks.filter((a) => a.status === 'rejected' || (target === 'herald' && !(a.value as { ok?: boolean } | undefined)?.ok));
      if (refused.length > 0) console.error(`socket swarm: ${refused.length} subscriptions refused, e.g. ${JSON.stringify(refused[0])}`);
      return send({
        reply: 'connected',
        connected: sockets.length,
        failed: results.length - sockets.length + refused.length,
        subscribed: message.subscribe ? sockets.length - refused.length : 0,
      });
    }
    case 'subscribe': {
      const results = await pool(sockets, 200, subscribeOne);
      return send({ reply: 'subscribed', subscribed: results.filter((r) => r.status === 'fulfilled').length });
    }
    case 'reset':
      samples = [];
      events = 0;
      return send({ reply: 'reset' });
    case 'report':
      return send({ reply: 'report', samples, received: samples.length, events });
    case 'close':
      for (const s of sockets) s.disconnect();
      send({ reply: 'closed' });
      return setTimeout(() => process.exit(0), 100);
  }
});
