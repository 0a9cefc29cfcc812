import fc from 'fast-check';

/**
 * Hostile and valid-looking values for the fuzz suite. A generated case
 * names the objects it aims at symbolically (`⟨ownBook⟩`), so that a seed
 * and path replay the same case against another run's freshly made ids.
 */

/** Families of objects a case can aim at; the suite makes one of each before the run. */
export const REFS = {
  documents: ['ownBook', 'ownScreenplay', 'sharedEdit', 'sharedView', 'othersDoc'],
  chapters: ['ownBookChapter', 'ownScreenplayChapter', 'sharedEditChapter', 'sharedViewChapter', 'othersChapter'],
  jobs: ['ownJob', 'othersJob'],
  notifications: ['ownNotification', 'othersNotification'],
  users: ['userA', 'userB'],
} as const;
export type RefFamily = keyof typeof REFS;
export type RefName = (typeof REFS)[RefFamily][number];

/** A placeholder the runner replaces with the object's real id (upper-cased when asked). */
export const ref = (name: RefName, upper = false) => `⟨${name}${upper ? ':upper' : ''}⟩`;
const REF_PATTERN = /⟨(\w+)(:upper)?⟩/g;

/** Replaces every placeholder in strings, arrays and objects by the id it names. */
export function resolveRefs<T>(value: T, ids: Readonly<Record<string, string>>): T {
  if (typeof value === 'string') {
    return value.replace(REF_PATTERN, (_, name: string, upper?: string) => {
      const id = ids[name] ?? '00000000-0000-4000-8000-000000000000';
      return upper ? id.toUpperCase() : id;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, ids)) as T;
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, ids)])) as T;
  }
  return value;
}

/** Large strings are described, not generated char by char: `{repeat, times}` keeps a case printable. */
const repeat = (unit: string, bytes: number) => unit.repeat(Math.max(1, Math.floor(bytes / Math.max(1, Buffer.byteLength(unit)))));

const KIB = 1024;

/** Strings that have broken parsers, databases and regexes before. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001b[31m\u007f',
  '\r\n\r\n',
  '\t\v\f',
  '\uD800',
  'x\uDC00y',
  '\uDBFF\uDFFF\uD800',
  '\u202Eevil\u202C',
  'שלום עולם',
  'مرحبا بالعالم',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  'Z̷̢̛̖a̵̡͎l̴̢̛g̸̨̛o̵̢̧',
  '\uFEFFbom',
  '\u2028\u2029',
  '<script>alert(1)</script>',
  "'; drop table documents; --",
  '%s%n%x',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  '../../etc/passwd',
  '%00',
  'null',
  'NaN',
  '# ',
  'INT. ',
  'Chapter ',
];

/** Strings of 8 KiB to 1 MiB: long lines, repeated heading prefixes, one huge line. */
const BIG_STRINGS = fc.constantFrom(
  { unit: 'a', bytes: 64 * KIB },
  { unit: '😀', bytes: 64 * KIB },
  { unit: '\u0000', bytes: 8 * KIB },
  { unit: '\u202E', bytes: 16 * KIB },
  { unit: '\uD800', bytes: 16 * KIB },
  { unit: '# ', bytes: 64 * KIB },
  { unit: '# x\n', bytes: 64 * KIB },
  { unit: 'INT. ', bytes: 32 * KIB },
  { unit: '\n', bytes: 64 * KIB },
  // Long runs of spaces: a quadratic regex shows up here (the screenplay cue scan once blocked for seconds on 60 KB).
  { unit: ' ', bytes: 256 * KIB },
  { unit: 'a', bytes: 1024 * KIB },
).map(({ unit, bytes }) => repeat(unit, bytes));

/** Any string a hostile client might send, from empty to 1 MiB. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 6 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: BIG_STRINGS, weight: 1 },
);

/** Integers at and past every bound a server might have, and numbers that are not integers. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      0, 1, 2, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
      -(2 ** 53), 2 ** 63, 1e308, -0, 0.5, 1.5, Number.MIN_VALUE, Number.EPSILON,
    ),
    weight: 5,
  },
  { arbitrary: fc.integer(), weight: 2 },
  { arbitrary: fc.double(), weight: 1 },
);

/** Numbers as text, for query strings and hand-written JSON. */
export const numericText: fc.Arbitrary<string> = fc.oneof(
  hostileNumber.map(String),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e3', '1e400', '0x10', '1_000', ' 1', '1 ', '', '01', '+1', '-0', '1.0', '١٢٣', '9'.repeat(400), '2147483648', '[]', 'true'),
);

/** Any JSON value, of the wrong type more often than not. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  hostileNumber,
  hostileString,
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)), { maxKeys: 4 }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true}}') as unknown),
  fc.constant(Array.from({ length: 10_000 }, (_, i) => i)),
);

const MALFORMED_IDS = [
  '', '0', '-1', 'null', 'undefined', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '3f1c5b7e8a904c1d9e2f0a1b2c3d4e5f', '{3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5f}', '3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5fx',
  ' 3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5f', '3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5', "' or 1=1 --", '1e309', '..', '%2e%2e', '\u0000',
];

/** An id of the family: a real object's (the caller's or another user's), upper-cased, random, or malformed; `lawful` keeps to the first two. */
export function idOf(family: RefFamily | 'any', options: { lawful?: boolean } = {}): fc.Arbitrary<string> {
  const names = (family === 'any' ? Object.values(REFS).flat() : REFS[family]) as RefName[];
  const real = fc.oneof({ arbitrary: fc.constantFrom(...names).map((n) => ref(n)), weight: 6 }, { arbitrary: fc.constantFrom(...names).map((n) => ref(n, true)), weight: 1 });
  if (options.lawful) return real;
  return fc.oneof(
    { arbitrary: real, weight: 10 },
    { arbitrary: fc.uuid(), weight: 2 },
    { arbitrary: fc.constantFrom(...MALFORMED_IDS), weight: 2 },
    { arbitrary: hostileString, weight: 1 },
  );
}

/** Makes any value printable in a line: long strings become `"aaaa…" (65536 chars)`. */
export function describeValue(value: unknown, max = 120): string {
  return JSON.stringify(value, (_, v: unknown) => {
    if (typeof v === 'string' && v.length > max) return `${v.slice(0, 24)}… (${v.length} chars)`;
    if (v instanceof Uint8Array) return `<${v.length} bytes: ${Buffer.from(v.subarray(0, 16)).toString('hex')}…>`;
    if (Array.isArray(v) && v.length > 20) return [...v.slice(0, 5), `… (${v.length} items)`];
    return v;
  });
}
