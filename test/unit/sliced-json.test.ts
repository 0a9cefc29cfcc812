/**
 * JSON bodies parsed in slices (server/sliced-json.ts) give what one
 * `JSON.parse` gives, refuse what it refuses, and hand the event loop back
 * while a 10 MiB literal is decoded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAll, runInSlices } from '../../domain/text/slices.ts';
import { createShapeCheck } from '../../server/json-body.ts';
import { createLongStringLog, LONG_STRING_CHARS, parseJsonSteps, PIECE_CHARS } from '../../server/sliced-json.ts';

/** The long literals of `text`, found character by character: the reference for json-body.ts's shape scan. */
function longStrings(text: string): number[] {
  const log = createLongStringLog();
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') {
        inString = false;
        log.close(i);
      }
    } else if (c === '"') {
      inString = true;
      log.open(i);
    }
  }
  return log.ranges;
}

const parse = (text: string) => runAll(parseJsonSteps(text, longStrings(text)));

describe('JSON parsed in slices', () => {
  it('decodes long literals cut between pieces: escapes, surrogate pairs, non-ASCII', () => {
    const unit = 'Жена said "hi"\\\t\n to 😀 Mara\u2028. ';
    const content = unit.repeat(Math.ceil((PIECE_CHARS * 3) / unit.length));
    for (const shift of [0, 1, 2, 3, 5, 7]) {
      const text = JSON.stringify({ title: 'T', content: 'x'.repeat(shift) + content, n: [1, 2.5, null, true] });
      // \u escapes of astral characters, whose halves a cut may separate.
      const escaped = text.replace(/😀/g, '\\ud83d\\ude00');
      expect(longStrings(escaped).length).toBeGreaterThan(0);
      expect(parse(escaped)).toEqual(JSON.parse(escaped));
    }
  });

  it('gives what JSON.parse gives for long keys, duplicate keys and __proto__', () => {
    const long = 'k'.repeat(LONG_STRING_CHARS * 2);
    const text = `{"a":1,"${long}":2,"__proto__":{"x":"${long}"},"${long}":3,"b":["${long}","short"]}`;
    const parsed = parse(text) as Record<string, unknown>;
    expect(parsed).toEqual(JSON.parse(text));
    expect(Object.keys(parsed)).toEqual(Object.keys(JSON.parse(text) as object));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
  });

  it('agrees with JSON.parse on any JSON value (long strings included)', () => {
    const longString = fc.string({ unit: 'binary', minLength: LONG_STRING_CHARS, maxLength: LONG_STRING_CHARS * 3 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.array(longString, { maxLength: 3 }), (value, strings) => {
        const text = JSON.stringify({ value, strings, [strings[0] ?? 'k']: strings });
        expect(parse(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['a raw newline in a long literal', `{"content":"${'a'.repeat(LONG_STRING_CHARS)}\n"}`],
    ['a bad escape in a long literal', `{"content":"${'a'.repeat(PIECE_CHARS + 10)}\\x"}`],
    ['a cut \\u escape at the end', `{"content":"${'a'.repeat(LONG_STRING_CHARS)}\\u12"}`],
    ['broken structure around one', `{"content":"${'a'.repeat(LONG_STRING_CHARS)}",}`],
  ])('refuses what JSON.parse refuses: %s', (_, text) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(() => parse(text)).toThrow(SyntaxError);
  });

  it('lets the event loop run while a long literal is decoded', async () => {
    const text = JSON.stringify({ title: 'T', content: 'a\r\n'.repeat(400_000) });
    let ran = false;
    setImmediate(() => (ran = true));
    // Slices of 0 ms: a turn of the loop after every step; had the parse been one step, nothing would have run.
    const parsed = await runInSlices(parseJsonSteps(text, longStrings(text)), 0);
    expect(ran).toBe(true);
    expect(parsed).toEqual({ title: 'T', content: 'a\r\n'.repeat(400_000) });
  });

  it('finds the long literals as the text arrives in any pieces, escapes cut between pieces included', () => {
    // Backslashes and quotes are frequent, so cuts fall inside escapes and runs of backslashes.
    // Lengths around LONG_STRING_CHARS: some literals are long, some just short of it.
    const tricky = fc.string({ unit: fc.constantFrom('a', 'é', '"', '\\', '\n', '😀'), minLength: LONG_STRING_CHARS / 2, maxLength: LONG_STRING_CHARS * 2 });
    let found = 0;
    fc.assert(
      fc.property(fc.array(tricky, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (strings, cuts) => {
        const text = JSON.stringify({ title: strings[0] ?? '', content: strings, [strings[1] ?? 'k']: 1 });
        const log = createLongStringLog();
        const shape = createShapeCheck(log);
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...at, text.length]) {
          shape.scan(text.slice(from, to));
          from = to;
        }
        expect(log.ranges).toEqual(longStrings(text));
        found += log.ranges.length;
      }),
      { numRuns: 300 },
    );
    expect(found).toBeGreaterThan(100);
  });

  it('decodes a long literal in pieces of at most PIECE_CHARS (plus one escape)', () => {
    const text = JSON.stringify({ content: 'ab\\"'.repeat(PIECE_CHARS) });
    const steps = parseJsonSteps(text, longStrings(text));
    let yields = 0;
    while (!steps.next().done) yields++;
    // Each piece is one step; the structure is one more.
    expect(yields).toBeGreaterThanOrEqual(Math.floor((text.length - 14) / (PIECE_CHARS + 6)));
  });
});
