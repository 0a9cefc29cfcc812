import { expect } from 'vitest';

export interface ErrorResponseBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

/** Asserts the contract's error envelope exactly: JSON `{error:{code, message, details?}}` and nothing else, no stack trace. */
export async function expectError(response: Response, status: number, code: string): Promise<ErrorResponseBody> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorResponseBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'details'].includes(k))).toEqual([]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\n\s+at /);
  return body;
}

/** The fields `details` names, sorted. */
export const fieldsOf = (body: ErrorResponseBody) => (body.error.details ?? []).map((d) => d.field).sort();
