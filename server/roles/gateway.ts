import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createGateway, type Gateway } from '../../realtime/gateway.ts';
import type { Authenticate } from '../auth.ts';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { createShutdownStack, type RunningPart } from './shutdown-stack.ts';
import type { Stores } from './stores.ts';

export interface GatewayRoleDeps {
  stores: Stores;
  httpServer: Server;
  metrics: Metrics;
  logger: Logger;
  authenticate: Authenticate;
}

export type GatewayRole = RunningPart & { gateway: Gateway };

/**
 * The `gateway` role: Socket.IO on the process's HTTP server, with a pub/sub
 * connection of its own. `close` disconnects the sockets, then that connection.
 */
export async function startGatewayRole(config: Config, deps: GatewayRoleDeps): Promise<GatewayRole> {
  const { stores, metrics } = deps;
  const stack = createShutdownStack(deps.logger);
  const subscriber = await stores.connectRedis('pubsub', {});
  stack.push({ close: async () => subscriber.disconnect() });
  try {
    const gateway = stack.push(createGateway({
      httpServer: deps.httpServer,
      sql: stores.sql,
      redis: stores.redis,
      subscriber,
      prefix: config.redisPrefix,
      authenticate: deps.authenticate,
      logger: deps.logger,
      maxSubscriptionsPerSocket: config.gateway.maxSubscriptions,
      historyTtlSeconds: config.events.ttlSeconds,
      rateLimit: config.gateway.rateLimit,
      maxMessageBytes: config.gateway.maxMessageBytes,
      corsOrigins: config.corsOrigins,
      onDelivered: (event) => metrics.delivered(event.name, event.data.at as string | undefined),
      maxSocketsPerUser: config.sockets.maxPerUser,
      socketClaimTtlMs: config.sockets.claimTtlMs,
      presence: config.presence,
    }));
    return { gateway, ready: () => gateway.ready(), close: () => stack.close() };
  } catch (error) {
    await stack.close();
    throw error;
  }
}
