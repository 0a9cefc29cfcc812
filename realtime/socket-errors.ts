import type { z } from 'zod';
import type { ErrorBody, SubscribeAck } from './events.ts';

/** The ack for a payload that fails its schema: `invalid_request` with each bad field named. */
export function invalid(error: z.ZodError): SubscribeAck {
  return {
    ok: false,
    error: {
      code: 'invalid_request',
      message: 'The request is not valid.',
      details: error.issues.map((i) => ({ field: i.path.join('.') || '(payload)', message: i.message })),
    },
  };
}

/** A thrown `{code, message}` as the contract's error body; anything else becomes `fallback` with a generic message. */
export function toErrorBody(error: unknown, fallback: string): ErrorBody {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (e && typeof e.code === 'string' && /^[a-z_]+$/.test(e.code) && typeof e.message === 'string') {
    return { code: e.code, message: e.message };
  }
  return { code: fallback, message: fallback === 'unavailable' ? 'A dependency is unavailable; try again shortly.' : 'Not allowed.' };
}
