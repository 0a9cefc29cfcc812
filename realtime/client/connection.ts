import { io, type Socket } from 'socket.io-client';
import type { AuthExpiredPayload, ClientToServerEvents, ServerToClientEvents } from '../events.ts';
import { Emitter } from './emitter.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Where the connection is: `connecting` (first attempt), `connected`,
 * `reconnecting` (lost, retrying with backoff across the URLs),
 * `waiting_for_token` (the token was refused or expired and there is no
 * `refreshToken` to get another: call `setToken`), `closed`.
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'waiting_for_token' | 'closed';

export interface ConnectionOptions {
  /** Gateway URLs; on a connect error the next one is tried. One load-balanced URL is fine too. */
  urls: string[];
  token: string;
  /** Called for a new token when the server says the current one expired or is refused. */
  refreshToken?: () => Promise<string>;
  /** Default `['websocket']`: no sticky sessions needed behind a load balancer. */
  transports?: ('websocket' | 'polling')[];
  /** Socket.IO path. Default `/socket.io`. */
  path?: string;
  /** First retry delay; doubles per failed attempt up to `maxDelayMs`, with jitter. Default 100. */
  minDelayMs?: number;
  /** Default 5000. */
  maxDelayMs?: number;
  /** A handshake that takes longer counts as failed. Default 10000. */
  connectTimeoutMs?: number;
}

export interface ConnectionEvents {
  status: (status: ConnectionStatus) => void;
  /** A socket is connected (the first one, or a new one after any reconnect). */
  connect: (socket: ClientSocket, url: string) => void;
  disconnect: (reason: string) => void;
  'auth.expired': (payload: AuthExpiredPayload) => void;
  /** The handshake was refused for the token (`unauthenticated`). */
  'auth.refused': (message: string) => void;
}

/** After the server cut the socket (abuse, restart), wait at least this long before coming back. */
const SERVER_DISCONNECT_DELAY_MS = 1000;

/**
 * One logical connection to Herald: a Socket.IO socket at a time, replaced
 * after any disconnect, rotating through the URLs with capped exponential
 * backoff. Socket.IO's own reconnection is off because it cannot move to
 * another URL, and a gateway that was SIGKILLed is not coming back.
 */
export class Connection extends Emitter<ConnectionEvents> {
  private current: ClientSocket | undefined;
  private connected: ClientSocket | undefined;
  private urlIndex = 0;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private state: ConnectionStatus = 'connecting';
  private expired = false;
  private token: string;

  constructor(private readonly options: ConnectionOptions) {
    super();
    if (options.urls.length === 0) throw new TypeError('HeraldClient needs at least one URL');
    this.token = options.token;
  }

  get status(): ConnectionStatus {
    return this.state;
  }

  /** The connected socket, if any. */
  get socket(): ClientSocket | undefined {
    return this.connected;
  }

  get url(): string {
    return this.options.urls[this.urlIndex]!;
  }

  /** The token in use (the latest one set or refreshed). */
  get currentToken(): string {
    return this.token;
  }

  start(): void {
    this.open();
  }

  /** Uses `token` from now on; a connected socket reconnects with it (subscriptions resume from their seq). */
  setToken(token: string): void {
    this.token = token;
    this.expired = false;
    if (this.state === 'closed') return;
    clearTimeout(this.timer);
    const previous = this.current;
    // Forgotten first, so its disconnect does not schedule a reconnect of its own.
    this.current = undefined;
    previous?.disconnect();
    this.open();
  }

  close(): void {
    this.setStatus('closed');
    clearTimeout(this.timer);
    this.current?.disconnect();
    this.current = this.connected = undefined;
  }

  private open(): void {
    const url = this.url;
    const socket: ClientSocket = io(url, {
      // Read at every handshake, so a token set meanwhile is the one sent.
      auth: (cb) => cb({ token: this.token }),
      transports: this.options.transports ?? ['websocket'],
      path: this.options.path ?? '/socket.io',
      reconnection: false,
      forceNew: true,
      timeout: this.options.connectTimeoutMs ?? 10_000,
    });
    this.current = socket;
    socket.on('connect', () => {
      this.failures = 0;
      this.connected = socket;
      this.setStatus('connected');
      this.emit('connect', socket, url);
    });
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (this.current !== socket) return;
      socket.disconnect();
      if (err.data?.code === 'unauthenticated') return void this.onTokenRefused(err.message);
      this.urlIndex = (this.urlIndex + 1) % this.options.urls.length;
      this.retry(0);
    });
    socket.on('auth.expired', (payload) => {
      this.expired = true;
      this.emit('auth.expired', payload);
    });
    socket.on('disconnect', (reason) => {
      if (this.connected === socket) this.connected = undefined;
      this.emit('disconnect', reason);
      if (this.current !== socket || this.state === 'closed') return;
      if (this.expired) return void this.onTokenRefused('The token expired.');
      this.retry(reason === 'io server disconnect' ? SERVER_DISCONNECT_DELAY_MS : 0);
    });
  }

  private retry(atLeastMs: number): void {
    this.setStatus('reconnecting');
    const min = this.options.minDelayMs ?? 100;
    const max = this.options.maxDelayMs ?? 5000;
    // The first retry after losing a connected socket is immediate; later ones back off, with jitter so clients spread out.
    const backoff = this.failures === 0 ? 0 : Math.min(max, min * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2);
    this.failures++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), Math.max(atLeastMs, backoff));
  }

  private onTokenRefused(message: string): void {
    this.emit('auth.refused', message);
    const refresh = this.options.refreshToken;
    if (!refresh) return this.setStatus('waiting_for_token');
    this.setStatus('reconnecting');
    refresh().then(
      (token) => this.state !== 'closed' && this.setToken(token),
      () => this.setStatus('waiting_for_token'),
    );
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.state === status || this.state === 'closed') return;
    this.state = status;
    this.emit('status', status);
  }
}
