import fc from 'fast-check';
import { io } from 'socket.io-client';
import { authCase, socketTokenFor, type AuthCase } from './fuzz-auth.ts';
import { anyJson, describeValue, hostileNumber, hostileString, idOf, numericText, resolveRefs } from './fuzz-values.ts';
import type { ClientSocket } from './socket.ts';

/** One generated socket action: an event with a payload on a pool socket, or a handshake of its own. */
export type SocketCase =
  | { kind: 'emit'; as: 'fuzz-a' | 'fuzz-b'; event: string; payload: unknown; ack: boolean }
  | { kind: 'handshake'; auth: AuthCase | { kind: 'odd'; token: unknown } };

/** Events a client may send (CONTRACT section 5); each must answer with an ack. */
export const ACKED_EVENTS = ['subscribe', 'unsubscribe', 'presence'] as const;

/** A payload past Socket.IO's message limit (SOCKET_MAX_MESSAGE_BYTES, 64 KiB by default): the server may drop the socket. */
export const OVERSIZE_BYTES = 64 * 1024 - 256;

const since = fc.oneof({ arbitrary: fc.nat({ max: 50 }), weight: 3 }, { arbitrary: hostileNumber, weight: 3 }, { arbitrary: numericText, weight: 1 }, { arbitrary: anyJson, weight: 1 });
const epoch = fc.oneof({ arbitrary: fc.constantFrom('0-0', '1700000000000-0', 'epoch'), weight: 2 }, { arbitrary: hostileString, weight: 2 }, { arbitrary: anyJson, weight: 1 });
const absentOr = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

/** `{document_id, since?, epoch?}`, `{document_id}` and `{document_id, chapter_id}` near and far from their shapes. */
const payloads: Record<(typeof ACKED_EVENTS)[number], fc.Arbitrary<unknown>> = {
  subscribe: fc.record({ document_id: fc.oneof({ arbitrary: idOf('documents'), weight: 6 }, { arbitrary: anyJson, weight: 1 }), since: absentOr(since), epoch: absentOr(epoch) }, { requiredKeys: ['document_id'] }),
  unsubscribe: fc.record({ document_id: fc.oneof({ arbitrary: idOf('documents'), weight: 6 }, { arbitrary: anyJson, weight: 1 }) }, { requiredKeys: [] }),
  presence: fc.record(
    { document_id: fc.oneof({ arbitrary: idOf('documents'), weight: 6 }, { arbitrary: anyJson, weight: 1 }), chapter_id: fc.oneof(idOf('chapters'), fc.constant(null), anyJson) },
    { requiredKeys: ['document_id'] },
  ),
};

const notAnObject = fc.oneof(
  anyJson,
  fc.constant(undefined),
  fc.constantFrom(2, 16, 48).map((kib) => ({ document_id: 'x'.repeat(kib * 1024) })),
  fc.constant({ document_id: '⟨ownBook⟩', since: 0, epoch: 'e'.repeat(70 * 1024) }),
);

/** Any socket action a client could take. */
export function socketCase(events: readonly string[]): fc.Arbitrary<SocketCase> {
  const known = events.filter((e): e is (typeof ACKED_EVENTS)[number] => (ACKED_EVENTS as readonly string[]).includes(e));
  const emit = fc.oneof(
    {
      arbitrary: fc.constantFrom(...known).chain((event) =>
        fc.record({
          kind: fc.constant('emit' as const),
          as: fc.constantFrom('fuzz-a' as const, 'fuzz-b' as const),
          event: fc.constant<string>(event),
          payload: fc.oneof({ arbitrary: payloads[event], weight: 5 }, { arbitrary: notAnObject, weight: 2 }),
          ack: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
        }),
      ),
      weight: 10,
    },
    {
      // Events nobody handles: the server must ignore them, not fall over.
      arbitrary: fc.record({
        kind: fc.constant('emit' as const),
        as: fc.constant('fuzz-a' as const),
        event: fc.constantFrom('SUBSCRIBE', 'subscribe ', 'foo', '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'notification', 'chapter.status'),
        payload: notAnObject,
        ack: fc.constant(false),
      }),
      weight: 1,
    },
  );
  const handshake = fc.record({
    kind: fc.constant('handshake' as const),
    auth: fc.oneof({ arbitrary: authCase, weight: 4 }, { arbitrary: anyJson.map((token) => ({ kind: 'odd' as const, token })), weight: 1 }),
  });
  return fc.oneof({ arbitrary: emit, weight: 6 }, { arbitrary: handshake, weight: 1 });
}

export const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** What is wrong with an ack (CONTRACT section 5): `{ok:true,…}` or `{ok:false, error:{code, message, details?}}`, never `unavailable` with healthy dependencies. */
export function ackViolations(event: string, ack: unknown): string[] {
  const a = ack as { ok?: unknown; error?: { code?: unknown; message?: unknown; [k: string]: unknown }; [k: string]: unknown } | null;
  if (!a || typeof a !== 'object' || Array.isArray(a) || typeof a.ok !== 'boolean') return [`ack ${describeValue(ack)} is not {ok: boolean, …}`];
  if (a.ok) {
    if (event === 'subscribe' && (typeof a.seq !== 'number' || typeof a.epoch !== 'string')) return ['a subscribe ack without seq and epoch'];
    return [];
  }
  const problems: string[] = [];
  const extraTop = Object.keys(a).filter((k) => k !== 'ok' && k !== 'error');
  if (extraTop.length) problems.push(`ack has extra keys ${extraTop.join(', ')}`);
  if (!a.error || typeof a.error !== 'object') return [...problems, 'ok:false without an error object'];
  const extra = Object.keys(a.error).filter((k) => !['code', 'message', 'details'].includes(k));
  if (extra.length) problems.push(`ack error has extra keys ${extra.join(', ')}`);
  if (typeof a.error.code !== 'string' || !SNAKE_CASE.test(a.error.code)) problems.push(`ack error code ${JSON.stringify(a.error.code)} is not snake_case`);
  if (typeof a.error.message !== 'string' || !a.error.message) problems.push('ack error message is not a non-empty string');
  if (a.error.code === 'unavailable') problems.push('ack says unavailable with every dependency up (a swallowed server error)');
  return problems;
}

/** Connects a real socket.io-client; rejects with the handshake's error. */
export function openSocket(url: string, auth: Record<string, unknown>): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 10_000 });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.disconnect();
      reject(err);
    });
  });
}

/** Runs a handshake case: a connection or a `connect_error` with a snake_case `data.code`; a bad token must be refused. */
export async function runHandshake(url: string, c: Extract<SocketCase, { kind: 'handshake' }>): Promise<string[]> {
  const token = c.auth.kind === 'odd' ? c.auth.token : await socketTokenFor(c.auth);
  try {
    const socket = await openSocket(url, { token });
    socket.disconnect();
    // A socket sends the bare token, so any text around it (even a "Bearer " prefix) makes it a bad one.
    const refused = c.auth.kind === 'header' ? c.auth.before + c.auth.after !== '' : 'refused' in c.auth && c.auth.refused;
    return refused ? [`a bad token (${c.auth.kind}${c.auth.kind === 'claims' && c.auth.flaw ? `: ${c.auth.flaw}` : ''}) was let in`] : [];
  } catch (error) {
    const code = (error as { data?: { code?: unknown } }).data?.code;
    if (typeof code !== 'string' || !SNAKE_CASE.test(code)) return [`connect_error without a snake_case data.code: ${describeValue({ message: (error as Error).message, data: (error as { data?: unknown }).data })}`];
    if (code === 'unavailable') return ['handshake refused as unavailable with every dependency up'];
    return [];
  }
}

/** Emits a case on a pool socket and checks the ack; resolves with what is wrong. */
export async function runEmit(socket: ClientSocket, c: Extract<SocketCase, { kind: 'emit' }>, ids: Readonly<Record<string, string>>): Promise<string[]> {
  const payload = resolveRefs(c.payload, ids);
  const emit = socket.emit as unknown as (event: string, ...args: unknown[]) => void;
  if (!c.ack) {
    emit.call(socket, c.event, payload);
    return [];
  }
  const oversize = Buffer.byteLength(JSON.stringify(payload) ?? '') > OVERSIZE_BYTES;
  const answer = await new Promise<{ ack: unknown } | { dropped: string } | { timeout: true }>((resolve) => {
    const timer = setTimeout(() => resolve({ timeout: true }), 10_000);
    const onDisconnect = (reason: string) => {
      clearTimeout(timer);
      resolve({ dropped: reason });
    };
    socket.once('disconnect', onDisconnect);
    emit.call(socket, c.event, payload, (ack: unknown) => {
      clearTimeout(timer);
      socket.off('disconnect', onDisconnect);
      resolve({ ack });
    });
  });
  if ('ack' in answer) return ackViolations(c.event, answer.ack);
  if ('dropped' in answer) return oversize ? [] : [`the socket was dropped (${answer.dropped})`];
  return [`no ack to ${c.event} within 10 s`];
}

/** A one-line description of a socket case, with long strings cut. */
export function describeSocketCase(c: SocketCase): string {
  return describeValue(c);
}
