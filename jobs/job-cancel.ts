import type { RedisClient } from '../realtime/redis-client.ts';
import type { Logger } from 'pino';

/** The pub/sub channel on which every worker process of the deployment hears cancel requests. */
export const cancelChannel = (prefix: string) => `${prefix}:jobs:cancel`;

interface CancelRequest {
  queue: string;
  id: string;
}

/** Asks every worker process to cancel a running job; the one running it aborts its signal. */
export async function requestCancel(redis: RedisClient, prefix: string, queue: string, bullId: string): Promise<void> {
  await redis.publish(cancelChannel(prefix), JSON.stringify({ queue, id: bullId } satisfies CancelRequest));
}

/**
 * Listens for cancel requests on a subscriber connection of the worker's own
 * and hands each to `cancel`, which aborts the job's signal if this process
 * runs it (BullMQ's `worker.cancelJob`). Returns the unsubscribe.
 */
export async function listenForCancels(
  subscriber: RedisClient,
  prefix: string,
  cancel: (queue: string, bullId: string) => void,
  logger: Logger,
): Promise<() => Promise<void>> {
  const channel = cancelChannel(prefix);
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const request = JSON.parse(message) as CancelRequest;
      cancel(request.queue, request.id);
    } catch (err) {
      logger.warn({ err }, 'unreadable cancel request');
    }
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', onMessage);
    await subscriber.unsubscribe(channel).catch(() => {});
  };
}
