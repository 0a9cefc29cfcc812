import { STOPWORDS } from './stopwords.ts';

/** A term and how often the document uses it. */
export interface KeyTerm {
  term: string;
  count: number;
}

/** Key terms the full package lists. */
export const TOP_KEY_TERMS = 12;
const MIN_TERM_LENGTH = 4;
const WORD = /(?<![\p{L}\p{N}])[\p{L}][\p{L}\p{M}'’-]*[\p{L}\p{M}]/gu;

/**
 * The document's key terms without AI: content words scored by TF-IDF over
 * its chapters (frequent overall, concentrated in some chapters), so words
 * every chapter uses equally sink. Names in `exclude` (the characters, which
 * have sheets of their own) are left out. Pure; ties break alphabetically.
 *
 * @example keyTerms(['The lantern glowed. The lantern died.', 'A storm came.'], [])
 * // → [{ term: 'lantern', count: 2 }, { term: 'came', count: 1 }, ...]
 */
export function keyTerms(chapters: readonly string[], exclude: readonly string[], limit = TOP_KEY_TERMS): KeyTerm[] {
  const excluded = new Set(exclude.map((n) => n.toLowerCase()));
  const total = new Map<string, number>();
  const chaptersWith = new Map<string, number>();
  for (const text of chapters) {
    const seenHere = new Set<string>();
    for (const match of text.matchAll(WORD)) {
      const term = match[0].toLowerCase().replace(/['’]s$/u, '');
      if (term.length < MIN_TERM_LENGTH || STOPWORDS.has(term) || excluded.has(term)) continue;
      total.set(term, (total.get(term) ?? 0) + 1);
      seenHere.add(term);
    }
    for (const term of seenHere) chaptersWith.set(term, (chaptersWith.get(term) ?? 0) + 1);
  }
  const n = Math.max(chapters.length, 1);
  return [...total]
    .map(([term, count]) => ({ term, count, score: count * Math.log(1 + n / chaptersWith.get(term)!) }))
    .sort((a, b) => b.score - a.score || (a.term < b.term ? -1 : 1))
    .slice(0, limit)
    .map(({ term, count }) => ({ term, count }));
}
