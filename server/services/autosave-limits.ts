import { AppError, rateLimited } from '../errors.ts';
import type { TokenBucket } from '../rate-limit.ts';

/**
 * A save costs one token per started 64 KiB of text: a typical chapter (a few
 * thousand words) costs one, the largest (1 MiB) sixteen, so the rate bounds
 * the bytes a user can push into the history, not just the number of saves.
 */
export const SAVE_TOKEN_BYTES = 64 * 1024;

/** What bounds one user's autosaves. */
export interface AutosaveLimits {
  /** Largest chapter text, in bytes of UTF-8 (MAX_CHAPTER_BYTES). */
  maxChapterBytes: number;
  /** Per-user bucket of save tokens (AUTOSAVE_RATE, AUTOSAVE_BURST), shared through Redis. */
  limiter: TokenBucket;
}

/**
 * Refuses a save before it touches anything: 413 past the chapter size
 * (checked first, so it spends no tokens), 429 with Retry-After past the
 * user's rate.
 */
export async function admitSave(limits: AutosaveLimits, userId: string, content: string): Promise<void> {
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > limits.maxChapterBytes) {
    throw new AppError(
      'payload_too_large',
      `The chapter is ${bytes} bytes of UTF-8; MAX_CHAPTER_BYTES allows at most ${limits.maxChapterBytes}. Split it into chapters.`,
      { field: 'content', limit_bytes: limits.maxChapterBytes, size_bytes: bytes },
    );
  }
  const cost = Math.min(limits.limiter.burst, Math.max(1, Math.ceil(bytes / SAVE_TOKEN_BYTES)));
  const verdict = await limits.limiter.take(userId, cost);
  if (!verdict.allowed) throw rateLimited(verdict.retryAfterSeconds, `Too many saves; try again in ${verdict.retryAfterSeconds} s.`);
}
