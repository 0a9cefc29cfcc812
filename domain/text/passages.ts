const WHITESPACE = /\s/u;
const SENTENCE_END = new Set(['.', '!', '?', '…']);

/** `\s` of one UTF-16 unit: ASCII by code, the rest (NBSP, U+2028, …) by the regex. */
const isSpace = (text: string, i: number) => {
  const code = text.charCodeAt(i);
  return code === 32 || (code >= 9 && code <= 13) || (code >= 0x80 && WHITESPACE.test(text[i]!));
};

/**
 * Splits text into passages: at blank lines (a whitespace run holding two
 * line breaks) and after each sentence end (`.`, `!`, `?`, `…` followed by
 * whitespace). The separators are dropped. One pass over the text, so it is
 * linear on any input; as a regex (`/\n\s*\n|(?<=[.!?…])\s+/u`) the ReDoS
 * check could not prove that.
 */
export function splitPassages(text: string): string[] {
  const passages: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    if (!isSpace(text, i)) {
      i++;
      continue;
    }
    let end = i;
    let breaks = 0;
    while (end < text.length && isSpace(text, end)) {
      if (text[end] === '\n') breaks++;
      end++;
    }
    if (breaks >= 2 || (i > 0 && SENTENCE_END.has(text[i - 1]!))) {
      passages.push(text.slice(start, i));
      start = end;
    }
    i = end;
  }
  passages.push(text.slice(start));
  return passages;
}
