import type { Socket } from 'socket.io';
import { AppError } from '../domain/errors.ts';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from './events.ts';
import type { SocketAdmission } from './socket-admission.ts';
import { toErrorBody } from './socket-errors.ts';

export interface HandshakeAuthDeps {
  /** Resolves the handshake token to a user; throws an AppError (`unauthenticated`) when it is not valid. */
  authenticate(token: string): Promise<{ id: string; name: string | null; expiresAt?: number | null }>;
  /** The per-user socket cap shared by every gateway. */
  admission: Pick<SocketAdmission, 'admit'>;
}

/**
 * Socket.IO middleware (`io.use`): a socket connects only with a valid
 * token and a free slot under its user's cap. The user lands in
 * `socket.data`; a refusal reaches the client's `connect_error` with
 * `err.data = {code}` (Socket.IO's ExtendedError).
 */
export function authenticateHandshake(deps: HandshakeAuthDeps) {
  return async (socket: Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>, next: (err?: Error) => void): Promise<void> => {
    const token: unknown = socket.handshake.auth?.token;
    try {
      if (typeof token !== 'string' || token === '') throw new AppError('unauthenticated', 'A token is required: io(url, { auth: { token } }).');
      const user = await deps.authenticate(token);
      await deps.admission.admit(user.id, socket.id);
      socket.data.userId = user.id;
      socket.data.userName = user.name;
      socket.data.expiresAt = user.expiresAt ?? null;
      next();
    } catch (error) {
      const body = toErrorBody(error, 'unauthenticated');
      next(Object.assign(new Error(body.message), { data: { code: body.code } }));
    }
  };
}
