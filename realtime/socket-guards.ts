import type { IncomingMessage } from 'node:http';
import type { Socket } from 'socket.io';
import type { Logger } from 'pino';

/** Per-socket message rate: `perSecond` on average, `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** How long a user whose socket was cut off for flooding may not connect again. */
export const ABUSE_COOLDOWN_MS = 10_000;

/**
 * Users recently cut off for flooding, in this process. A fresh socket would
 * start with a full bucket, so without this a flooder that reconnects would
 * get its burst again and again; instead its handshakes are refused for a
 * while. (socket-admission.ts shares the cut-off with every gateway.)
 */
export function createAbuseRegistry(cooldownMs = ABUSE_COOLDOWN_MS) {
  const until = new Map<string, number>();
  return {
    flag(userId: string): void {
      // Flags are rare (one per flooding socket), so each sweeps the lapsed ones: the map stays small.
      const now = Date.now();
      for (const [user, end] of until) if (end <= now) until.delete(user);
      until.set(userId, now + cooldownMs);
    },
    /** Milliseconds the user must still wait, or 0. */
    waitFor(userId: string): number {
      const end = until.get(userId);
      if (end === undefined) return 0;
      if (end > Date.now()) return end - Date.now();
      until.delete(userId);
      return 0;
    },
  };
}

export type AbuseRegistry = ReturnType<typeof createAbuseRegistry>;

/**
 * Limits what one socket may send (a token bucket of `burst` messages
 * refilled at `perSecond`). A message over the limit is not handled: its
 * ack answers `rate_limited`. Refusals fill a second bucket that drains at
 * the same rate; a socket that keeps sending past the limit until that one
 * overflows (about `burst` refusals more than it was allowed) is
 * disconnected and its user flagged in `abuse`, so a flood costs the
 * gateway a bounded amount of work.
 */
export function limitMessageRate(socket: Socket, limit: RateLimit, abuse: Pick<AbuseRegistry, 'flag'>, logger: Logger): void {
  const allowed = bucket(limit);
  const refusals = bucket(limit);
  refusals.level = 0;
  socket.use((packet, next) => {
    if (allowed.take()) return next();
    const ack = packet[packet.length - 1];
    if (typeof ack === 'function') {
      ack({ ok: false, error: { code: 'rate_limited', message: `At most ${limit.perSecond} messages per second per socket.` } });
    }
    if (!refusals.take() && socket.connected) {
      logger.warn({ socketId: socket.id, userId: socket.data?.userId }, 'socket kept sending past its rate limit; disconnected');
      abuse.flag(socket.data.userId);
      socket.disconnect(true);
    }
  });
}

/** A token bucket; `level` counts the tokens left. */
function bucket({ perSecond, burst }: RateLimit) {
  let last = performance.now();
  return {
    level: burst,
    take(): boolean {
      const now = performance.now();
      this.level = Math.min(burst, this.level + ((now - last) / 1000) * perSecond);
      last = now;
      if (this.level < 1) return false;
      this.level -= 1;
      return true;
    },
  };
}

/** Longest delay setTimeout accepts; a token valid for longer is checked again after it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When the socket's token expires, tells it (`auth.expired`) and
 * disconnects it. `expiresAt` is the token's `exp` in seconds.
 */
export function disconnectOnExpiry(socket: Socket, expiresAt: number | null | undefined): void {
  if (expiresAt === null || expiresAt === undefined) return;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt * 1000 - Date.now();
    if (left > 0) {
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      return;
    }
    socket.emit('auth.expired', {
      code: 'token_expired',
      message: 'The token has expired; reconnect with a new one.',
      expired_at: new Date(expiresAt * 1000).toISOString(),
    });
    socket.disconnect(true);
  };
  arm();
  socket.once('disconnect', () => clearTimeout(timer));
}

/**
 * Socket.IO's `allowRequest`: a browser's handshake (it always sends Origin)
 * must come from the server's own host or a configured origin; `*` allows
 * any. Requests without Origin (servers, scripts) pass: only browsers need
 * protecting from other sites, and WebSocket has no CORS of its own.
 */
export function originGuard(allowed: readonly string[]) {
  const any = allowed.includes('*');
  return (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => {
    const origin = req.headers.origin;
    if (!origin || any || allowed.includes(origin)) return callback(null, true);
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      return callback('origin not allowed', false);
    }
    callback(host === req.headers.host ? null : 'origin not allowed', host === req.headers.host);
  };
}
