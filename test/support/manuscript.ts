/** A manuscript of `chapters` Markdown chapters of about `wordsPerChapter` words each. */
export function manuscript(chapters: number, wordsPerChapter = 60): string {
  const words = ['river', 'lantern', 'Mara', 'whispered', 'storm', 'harbour', 'the', 'letter', 'Tomas', 'quietly', 'ship', 'night'];
  const parts: string[] = [];
  for (let c = 0; c < chapters; c++) {
    const sentences: string[] = [];
    let n = 0;
    let s = 0;
    while (n < wordsPerChapter) {
      const len = 8 + ((c + s) % 7);
      const sentence = Array.from({ length: len }, (_, i) => words[(c * 7 + s * 3 + i) % words.length]).join(' ');
      sentences.push(sentence[0]!.toUpperCase() + sentence.slice(1) + '.');
      n += len;
      s++;
    }
    parts.push(`# Chapter ${c + 1}\n\n${sentences.join(' ')}\n`);
  }
  return parts.join('\n');
}
