/**
 * Error text as a writer should read it. Workers record the provider's raw
 * error ("fetch failed", "connect ECONNREFUSED 10.0.0.7:443", "429 Too Many
 * Requests"); the page says what it means and whether Herald keeps trying.
 */
const UNREACHABLE = /fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|socket hang up|network|unreachable/i;
const SLOW = /ETIMEDOUT|timed? ?out|deadline/i;
const BUSY = /\b429\b|rate.?limit|too many requests|quota/i;
const TROUBLE = /\b50[0-4]\b|unavailable|overloaded|bad gateway/i;

/** What went wrong, in a writer's words; `retrying` says Herald tries again by itself. */
export function writerMessage(raw: string | null | undefined, retrying = false): string {
  const text = (raw ?? '').trim();
  const next = retrying ? '; retrying…' : '.';
  if (UNREACHABLE.test(text)) return `The AI service is unreachable${next}`;
  if (SLOW.test(text)) return `The AI service did not answer in time${next}`;
  if (BUSY.test(text)) return `The AI service is busy${next}`;
  if (TROUBLE.test(text)) return `The AI service is having trouble${next}`;
  if (!text) return retrying ? 'Something went wrong; retrying…' : 'Something went wrong.';
  // One line, no stack, not a wall of text.
  const line = text.split('\n')[0]!.replace(/^Error:\s*/, '');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
