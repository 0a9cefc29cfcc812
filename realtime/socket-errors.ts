import type { z } from 'zod';
import { AppError, type ErrorCode } from '../domain/errors.ts';
import type { ErrorBody } from './events.ts';

/** The ack for a payload that fails its schema: `invalid_request` with each bad field named. */
export function invalid(error: z.ZodError): { ok: false; error: ErrorBody } {
  return {
    ok: false,
    error: {
      code: 'invalid_request',
      message: 'The request is not valid.',
      details: error.issues.map((i) => ({ field: i.path.join('.') || '(payload)', message: i.message })),
    },
  };
}

/** An AppError's code and message; anything else (a dependency's failure) becomes `fallback` with a generic message. */
export function toErrorBody(error: unknown, fallback: Extract<ErrorCode, 'unavailable' | 'unauthenticated'>): ErrorBody {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: fallback, message: fallback === 'unavailable' ? 'A dependency is unavailable; try again shortly.' : 'Not allowed.' };
}
