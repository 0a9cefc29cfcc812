import { randomUUID } from 'node:crypto';
import type { Sliced } from '../domain/text/slices.ts';

/**
 * `JSON.parse` of a large body, as work that yields (domain/text/slices.ts).
 * One `JSON.parse` of a 10 MiB manuscript holds the event loop for 50 ms to
 * well over 100 ms (escaped newlines and tabs are the slow path), so the long
 * string literals are decoded apart, a piece of PIECE_CHARS at a time, and
 * the rest of the body (its structure and short strings, small by the shape
 * limits of json-body.ts) is parsed in one go with a placeholder in each long
 * literal's place. The result is the value `JSON.parse(text)` gives, and a
 * body it refuses throws its SyntaxError.
 */

/** A string literal with at least this many characters between its quotes is decoded apart. */
export const LONG_STRING_CHARS = 256;
/** Characters of a long literal decoded by one `JSON.parse` (well under a millisecond of work). */
export const PIECE_CHARS = 64 * 1024;

/**
 * Finds long string literals in JSON text arriving piece by piece: feed it
 * every character position where a literal opens and closes (json-body.ts's
 * shape scan knows them); it keeps the ranges of the long ones.
 */
export function createLongStringLog() {
  const ranges: number[] = [];
  let openedAt = -1;
  return {
    /** The literal's opening quote is at `position` (in the whole text). */
    open(position: number): void {
      openedAt = position;
    },
    /** Its closing quote is at `position`. */
    close(position: number): void {
      if (position - openedAt - 1 >= LONG_STRING_CHARS) ranges.push(openedAt + 1, position);
    },
    /** Flat [start, end) pairs of the long literals' contents, quotes excluded, in text order. */
    ranges,
  };
}

/** `JSON.parse(text)` with the long literals at `ranges` (flat start, end pairs, in order) decoded in pieces. */
export function* parseJsonSteps(text: string, ranges: readonly number[]): Sliced<unknown> {
  if (ranges.length === 0) return JSON.parse(text);
  // A placeholder no body can hold by chance: a NUL and a fresh UUID, then the literal's number.
  const marker = `\u0000${randomUUID()}:`;
  const decoded = new Map<string, string>();
  const skeleton: string[] = [];
  let position = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    const start = ranges[r]!;
    const end = ranges[r + 1]!;
    decoded.set(`${marker}${r / 2}`, yield* decodeStringSteps(text, start, end));
    skeleton.push(text.slice(position, start), JSON.stringify(`${marker}${r / 2}`).slice(1, -1));
    position = end;
  }
  skeleton.push(text.slice(position));
  yield;
  return JSON.parse(skeleton.join(''), (_key, value: unknown) => {
    if (typeof value === 'string') return decoded.get(value) ?? value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    // A long key: the object is rebuilt in the same order (fromEntries makes own properties, `__proto__` included).
    if (!Object.keys(value).some((k) => decoded.has(k))) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [decoded.get(k) ?? k, v]));
  });
}

/** The string literal whose characters are text[start, end), decoded PIECE_CHARS at a time, never cutting an escape. */
function* decodeStringSteps(text: string, start: number, end: number): Sliced<string> {
  const pieces: string[] = [];
  for (let from = start; from < end; ) {
    const to = escapeBoundary(text, from, Math.min(end, from + PIECE_CHARS), end);
    pieces.push(JSON.parse(`"${text.slice(from, to)}"`) as string);
    from = to;
    yield;
  }
  // One copy of the whole string now, rather than a rope of pieces flattened by whoever reads it first.
  return pieces.join('');
}

/**
 * The first position at or after `target` that is not inside an escape
 * sequence, walking the escapes from `from` (a boundary): `\uXXXX` is six
 * characters, any other escape two. A cut between the halves of an escaped
 * surrogate pair is fine: each half decodes alone and the join pairs them.
 */
function escapeBoundary(text: string, from: number, target: number, end: number): number {
  let i = from;
  for (;;) {
    const backslash = text.indexOf('\\', i);
    if (backslash === -1 || backslash >= target) return target;
    i = backslash + (text.charCodeAt(backslash + 1) === 0x75 /* u */ ? 6 : 2);
    if (i >= target) return Math.min(i, end);
  }
}
