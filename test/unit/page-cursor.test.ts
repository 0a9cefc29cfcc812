import { describe, expect, it } from 'vitest';
import { AppError } from '../../server/errors.ts';
import { decodeCursor, encodeCursor } from '../../server/page-cursor.ts';
import { IdParam } from '../../server/routes/schemas.ts';

const ID = '3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5f';
const raw = (text: string) => Buffer.from(text).toString('base64url');

describe('page cursors', () => {
  it('round-trips a position to the microsecond', () => {
    const position = { createdAt: '2026-12-01T08:25:27.123457Z', id: ID };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it('is opaque: base64url, no separators a client would be tempted to parse', () => {
    expect(encodeCursor({ createdAt: '2026-12-01T08:25:27.123457Z', id: ID })).toMatch(/^[\w-]+$/);
  });

  it.each([
    ['not base64 at all', '!!!'],
    ['an empty string', ''],
    ['a date that does not exist', raw(`2026-02-30T00:00:00.000000Z|${ID}`)],
    ['year 0', raw(`0000-01-01T00:00:00.000000Z|${ID}`)],
    ['a time without microseconds', raw(`2026-01-01T00:00:00.000Z|${ID}`)],
    ['a time with an offset', raw(`2026-01-01T00:00:00.000000+02:00|${ID}`)],
    ['hour 24', raw(`2026-01-01T24:00:00.000000Z|${ID}`)],
    ['an id that is not a UUID', raw('2026-01-01T00:00:00.000000Z|1 or 1=1')],
    ['a third part', raw(`2026-01-01T00:00:00.000000Z|${ID}|x`)],
  ])('refuses %s with a 400 naming cursor', (_, cursor) => {
    try {
      decodeCursor(cursor);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(400);
      expect((error as AppError).details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    }
  });
});

describe('IdParam', () => {
  it('lower-cases a UUID on the way in', () => {
    expect(IdParam.parse({ id: ID.toUpperCase() })).toEqual({ id: ID });
    expect(IdParam.parse({ id: '3F1c5B7e-8A90-4c1D-9e2F-0a1B2c3D4e5F' })).toEqual({ id: ID });
  });

  it('refuses what is not a UUID', () => {
    for (const id of ['', 'not-a-uuid', `${ID}0`, ` ${ID}`]) expect(IdParam.safeParse({ id }).success).toBe(false);
  });
});
