import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { TEST_AUTH_SECRET } from './env.ts';
import { hostileString } from './fuzz-values.ts';

/**
 * How a fuzz case authenticates. `refused` says the contract requires a 401
 * (section 2); `flaw` names the kind of bad token, so a known defect can be
 * told apart from a new one.
 */
export type AuthCase =
  | { kind: 'user'; user: string }
  | { kind: 'none'; refused: true }
  | { kind: 'header'; before: string; after: string; refused: boolean }
  | { kind: 'raw'; value: string; refused: true }
  | { kind: 'claims'; claims: Record<string, unknown>; expIn?: number; alg: 'HS256' | 'HS512' | 'none'; secret: 'right' | 'wrong'; refused: boolean; flaw?: TokenFlaw };

export type TokenFlaw = 'expired' | 'no_exp' | 'control_chars' | 'bad_sub' | 'bad_alg' | 'bad_signature' | 'not_before';

/** The user behind most cases, another user, or a new one seen for the first time. */
const actingUser = fc.oneof({ arbitrary: fc.constant('fuzz-a'), weight: 8 }, { arbitrary: fc.constant('fuzz-b'), weight: 2 }, { arbitrary: fc.constantFrom('fuzz-new-1', 'Fuzz-A', 'fuzz-a '), weight: 1 });

const HOUR = 3600;

const claimCases: fc.Arbitrary<AuthCase> = fc.oneof(
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a' }, expIn: -10, alg: 'HS256', secret: 'right', refused: true, flaw: 'expired' }),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a' }, alg: 'HS256', secret: 'right', refused: true, flaw: 'no_exp' }),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a', exp: '9999999999' }, alg: 'HS256', secret: 'right', refused: true, flaw: 'no_exp' }),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a', nbf: 9_999_999_999 }, expIn: HOUR, alg: 'HS256', secret: 'right', refused: true, flaw: 'not_before' }),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a' }, expIn: HOUR, alg: 'none', secret: 'right', refused: true, flaw: 'bad_alg' }),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a' }, expIn: HOUR, alg: 'HS512', secret: 'right', refused: true, flaw: 'bad_alg' }),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a' }, expIn: HOUR, alg: 'HS256', secret: 'wrong', refused: true, flaw: 'bad_signature' }),
  fc
    .constantFrom<unknown>('', 'x'.repeat(129), 42, null, ['fuzz-a'], { id: 'fuzz-a' })
    .map((sub): AuthCase => ({ kind: 'claims', claims: { sub }, expIn: HOUR, alg: 'HS256', secret: 'right', refused: true, flaw: 'bad_sub' })),
  fc
    .constantFrom('a\u0000b', '\u0000', 'fuzz\u0001', 'new\nline', 'tab\there', 'del\u007f')
    .chain((bad) => fc.constantFrom({ sub: bad }, { sub: 'fuzz-a', name: bad }))
    .map((claims): AuthCase => ({ kind: 'claims', claims, expIn: HOUR, alg: 'HS256', secret: 'right', refused: true, flaw: 'control_chars' })),
  // Odd but lawful: the user exists from now on.
  fc
    .record({ sub: fc.constantFrom('x'.repeat(128), '\u202Efuzz', '👩‍👩‍👧', '../../fuzz', 'FUZZ-A', 'fuzz-a'), name: fc.option(hostileString.filter((s) => !/[\u0000-\u001f\u007f]/.test(s)), { nil: undefined }) })
    .map((c): AuthCase => ({ kind: 'claims', claims: c.name === undefined ? { sub: c.sub } : c, expIn: HOUR, alg: 'HS256', secret: 'right', refused: false })),
  fc.constant<AuthCase>({ kind: 'claims', claims: { sub: 'fuzz-a', exp: 1e308 }, alg: 'HS256', secret: 'right', refused: false }),
);

/** Every way a request can carry (or fail to carry) a token. */
export const authCase: fc.Arbitrary<AuthCase> = fc.oneof(
  { arbitrary: actingUser.map((user): AuthCase => ({ kind: 'user', user })), weight: 14 },
  { arbitrary: fc.constant<AuthCase>({ kind: 'none', refused: true }), weight: 1 },
  {
    arbitrary: fc.oneof(
      fc.constantFrom(['bearer ', ''], ['BEARER\t', '']).map(([before, after]): AuthCase => ({ kind: 'header', before: before!, after: after!, refused: false })),
      fc.constantFrom(['Basic ', ''], ['Bearer ', ' extra'], ['Token ', ''], ['', ''], ['Bearer', ''], ['Bearer ', '.x']).map(([before, after]): AuthCase => ({ kind: 'header', before: before!, after: after!, refused: true })),
    ),
    weight: 1,
  },
  {
    arbitrary: fc
      .oneof(fc.constantFrom('Bearer', 'Bearer ', 'Bearer null', 'Bearer a.b.c', 'Bearer ....', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.', `Bearer ${'a'.repeat(8000)}`), hostileString.map((s) => `Bearer ${s.slice(0, 4000)}`))
      .map((value): AuthCase => ({ kind: 'raw', value, refused: true })),
    weight: 1,
  },
  { arbitrary: claimCases, weight: 3 },
);

/** The Authorization header value for a case, or undefined for none; header values are made Latin-1 safe. */
export async function authorizationFor(auth: AuthCase): Promise<string | undefined> {
  switch (auth.kind) {
    case 'user':
      return `Bearer ${await tokenFor(auth.user)}`;
    case 'none':
      return undefined;
    case 'header':
      return `${auth.before}${await tokenFor('fuzz-a')}${auth.after}`;
    case 'raw':
      return headerSafe(auth.value);
    case 'claims':
      return `Bearer ${await signClaims(auth)}`;
  }
}

/** The token a socket handshake sends for a case (a bare token, not a header). */
export async function socketTokenFor(auth: AuthCase): Promise<unknown> {
  switch (auth.kind) {
    case 'user':
      return tokenFor(auth.user);
    case 'none':
      return undefined;
    case 'header':
      return `${auth.before}${await tokenFor('fuzz-a')}${auth.after}`;
    case 'raw':
      return auth.value;
    case 'claims':
      return signClaims(auth);
  }
}

const now = () => Math.floor(Date.now() / 1000);

export function tokenFor(user: string): Promise<string> {
  return sign({ sub: user, iat: now(), exp: now() + HOUR }, TEST_AUTH_SECRET, 'HS256');
}

async function signClaims(auth: Extract<AuthCase, { kind: 'claims' }>): Promise<string> {
  const claims = { ...auth.claims, ...(auth.expIn !== undefined && { exp: now() + auth.expIn }) };
  if (auth.alg === 'none') {
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
  }
  return sign(claims, auth.secret === 'right' ? TEST_AUTH_SECRET : 'not-the-secret-0123456789abcdef', auth.alg);
}

/** fetch refuses header values outside Latin-1 or with CR, LF or NUL; a client cannot send those anyway. */
export function headerSafe(value: string): string {
  return value.replace(/[^\u0020-\u007e\u0080-\u00ff\t]/g, '?');
}
