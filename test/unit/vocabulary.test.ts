import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { ACCESS_FOR, ACCESS_LEVELS, allows, requireAccess, type Access, type Need } from '../../domain/access.ts';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';
import {
  CHAPTER_STATUSES, DOCUMENT_KINDS, FINISHED_JOB_STATUSES, JOB_STATUSES, isFinished,
  type ChapterStatus, type DocumentKind, type DocumentStatus, type JobStatus,
} from '../../domain/vocabulary.ts';
import { DOCUMENT_EVENT_NAMES, DOCUMENT_EVENTS, type DocumentEventName, type DocumentSnapshot, type JobView } from '../../realtime/events.ts';
import type { ChapterSchema, DocumentSchema } from '../../server/routes/schemas.ts';

describe('kinds and statuses', () => {
  it('calls a job or a chapter finished exactly when it is completed, failed or cancelled', () => {
    expect(JOB_STATUSES.filter(isFinished)).toEqual(['completed', 'failed', 'cancelled']);
    expect(FINISHED_JOB_STATUSES).toEqual(['completed', 'failed', 'cancelled']);
    expect(CHAPTER_STATUSES.filter(isFinished)).toEqual(['completed', 'failed']);
  });

  it('does not call an unknown status finished, not even an inherited property name', () => {
    for (const status of ['active', 'waiting', '', 'toString', 'constructor', '__proto__']) expect(isFinished(status)).toBe(false);
  });

  it('lists each member once', () => {
    for (const list of [DOCUMENT_KINDS, CHAPTER_STATUSES, JOB_STATUSES]) expect(new Set(list).size).toBe(list.length);
  });

  it('gives the schemas, the event contract and the tuples one type (checked by tsc)', () => {
    expectTypeOf<z.infer<typeof DocumentSchema>['kind']>().toEqualTypeOf<DocumentKind>();
    expectTypeOf<z.infer<typeof DocumentSchema>['status']>().toEqualTypeOf<DocumentStatus>();
    expectTypeOf<z.infer<typeof ChapterSchema>['status']>().toEqualTypeOf<ChapterStatus>();
    expectTypeOf<DocumentSnapshot['document']['kind']>().toEqualTypeOf<DocumentKind>();
    expectTypeOf<JobView['status']>().toEqualTypeOf<JobStatus>();
    // A chapter status is a job status, so isFinished serves both.
    expectTypeOf<ChapterStatus>().toExtend<JobStatus>();
  });
});

describe('document event names', () => {
  it('names every document event exactly once (checked by tsc: the record is over DocumentEventName)', () => {
    expectTypeOf<keyof typeof DOCUMENT_EVENTS>().toEqualTypeOf<DocumentEventName>();
    expectTypeOf<(typeof DOCUMENT_EVENT_NAMES)[number]>().toEqualTypeOf<DocumentEventName>();
    expect(DOCUMENT_EVENT_NAMES).toEqual([
      'chapter.status', 'document.progress', 'package.essential', 'package.full',
      'chapter.updated', 'artifact.stale', 'artifact.refreshed', 'job.update',
    ]);
  });

  it('leaves out the events without a seq: presence, list changes, notifications (checked by tsc)', () => {
    expectTypeOf<'presence'>().not.toExtend<DocumentEventName>();
    expectTypeOf<'documents.changed'>().not.toExtend<DocumentEventName>();
    expectTypeOf<'notification'>().not.toExtend<DocumentEventName>();
    for (const name of ['presence', 'documents.changed', 'notification']) expect(DOCUMENT_EVENT_NAMES).not.toContain(name);
  });

  it('refuses to compile a record that leaves an event out or adds one', () => {
    // The same `satisfies` as DOCUMENT_EVENTS: these lines fail to compile without the @ts-expect-error.
    // @ts-expect-error 'job.update' and others are missing
    void ({ 'chapter.status': true } as const satisfies { readonly [N in DocumentEventName]: true });
    // @ts-expect-error 'chapter.deleted' is not a document event
    void ({ ...DOCUMENT_EVENTS, 'chapter.deleted': true } as const satisfies { readonly [N in DocumentEventName]: true });
  });
});

describe('error codes', () => {
  it('carry their HTTP status, so an AppError needs only its code', () => {
    const cases: [ErrorCode, number][] = [
      ['invalid_request', 400], ['invalid_json', 400], ['unauthenticated', 401], ['forbidden', 403], ['not_found', 404],
      ['version_conflict', 409], ['conflict', 409], ['payload_too_large', 413], ['idempotency_mismatch', 422],
      ['rate_limited', 429], ['too_many_sockets', 429], ['unavailable', 503], ['internal', 500],
    ];
    for (const [code, status] of cases) expect(new AppError(code, 'message').status).toBe(status);
  });

  it("include every code the contract's error table lists, with its status", () => {
    const contract = {
      invalid_request: 400, invalid_json: 400, unauthenticated: 401, not_found: 404, version_conflict: 409,
      idempotency_mismatch: 422, payload_too_large: 413, rate_limited: 429, unavailable: 503,
    } as const satisfies Partial<typeof ERROR_STATUS>;
    for (const [code, status] of Object.entries(contract)) expect(ERROR_STATUS[code as ErrorCode]).toBe(status);
  });

  it('are snake_case, as the contract asks', () => {
    for (const code of Object.keys(ERROR_STATUS)) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it('give the wire shape without details when there are none', () => {
    expect(new AppError('not_found', 'gone').toBody()).toEqual({ code: 'not_found', message: 'gone' });
    expect(new AppError('invalid_request', 'bad', [{ field: 'x' }]).toBody()).toEqual({ code: 'invalid_request', message: 'bad', details: [{ field: 'x' }] });
  });

  it('refuse to compile an unknown code', () => {
    // @ts-expect-error not an ErrorCode
    expect(new AppError('teapot', 'short and stout').status).toBeUndefined();
  });
});

describe('requireAccess', () => {
  const table: Record<Need, Record<Access, boolean>> = {
    read: { owner: true, editor: true, viewer: true },
    edit: { owner: true, editor: true, viewer: false },
    own: { owner: true, editor: false, viewer: false },
  };

  it('lets through exactly the levels each need names, and returns the access', () => {
    for (const need of Object.keys(table) as Need[]) {
      for (const access of ACCESS_LEVELS) {
        expect(allows(access, need)).toBe(table[need][access]);
        if (table[need][access]) expect(requireAccess(access, need)).toBe(access);
      }
    }
    expect(Object.keys(ACCESS_FOR).sort()).toEqual(Object.keys(table).sort());
  });

  it('answers no access at all with 404 not_found, the same as a missing document', () => {
    for (const need of ['read', 'edit', 'own'] as const) {
      for (const none of [null, undefined]) {
        expect(() => requireAccess(none, need)).toThrow(expect.objectContaining({ code: 'not_found', status: 404 }));
      }
    }
  });

  it('answers access that falls short with 403 forbidden and the given message', () => {
    expect(() => requireAccess('viewer', 'edit', 'Viewers cannot build packages.')).toThrow(
      expect.objectContaining({ code: 'forbidden', status: 403, message: 'Viewers cannot build packages.' }),
    );
    expect(() => requireAccess('editor', 'own')).toThrow(expect.objectContaining({ code: 'forbidden', status: 403 }));
  });
});
