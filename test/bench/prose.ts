/**
 * Deterministic novel-like Markdown for the bench: varied sentence lengths,
 * dialogue, punctuation, paragraphs, a few hundred distinct words, so the
 * splitter, the summariser and the embedder see text shaped like a
 * manuscript rather than a twelve-word loop.
 */

const NAMES = ['Mara', 'Tomas', 'Elin', 'Captain Reyes', 'old Hollis', 'Ada', 'the ferryman', 'Jonah', 'Mrs. Whitcombe', 'Dr. Varga'];
const PLACES = ['the harbour', 'the lighthouse', 'the market square', 'the north road', 'the chapel', 'the mill', 'the ridge', 'the docks', 'the inn', 'the orchard'];
const NOUNS = `letter lantern storm river ship night morning window door key map coat bell rope knife bread candle fire rain
  wind tide stone bridge garden field voice silence promise secret debt winter summer harvest fever journey shadow
  road wall roof table chair cup book ledger photograph ring compass clock mirror staircase cellar attic boat net
  sail anchor gull fog frost snow mud dust smoke ash glass letterhead envelope ticket coin pocket sleeve collar`.split(/\s+/).filter(Boolean);
const VERBS = `watched carried opened closed remembered forgot crossed followed waited listened answered asked folded
  burned buried found lost counted measured mended broke lifted dropped pulled pushed whispered shouted laughed
  wondered noticed hid kept sold bought borrowed returned climbed descended circled studied read wrote signed`.split(/\s+/).filter(Boolean);
const ADJECTIVES = `cold grey narrow quiet heavy bright wet old new broken crooked faded sharp soft distant familiar strange
  empty crowded warm bitter patient restless careful small enormous pale dark salt-stained unfinished`.split(/\s+/).filter(Boolean);
const ADVERBS = ['slowly', 'quietly', 'again', 'carefully', 'at once', 'without a word', 'for a long time', 'before dawn', 'after supper', 'in the end'];
const CONNECTIVES = ['and', 'but', 'so', 'because', 'while', 'until', 'although', 'when', 'as if', 'even though'];
const SPEECH = ['said', 'asked', 'murmured', 'replied', 'insisted', 'admitted', 'warned'];

/** mulberry32: small, fast, good enough for text; the same seed gives the same book. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `chapters` Markdown chapters (`# Chapter N: …`) of about `wordsPerChapter` words each. */
export function novel(chapters: number, wordsPerChapter: number, seed = 42): string {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const clause = () => {
    const parts = [random() < 0.4 ? pick(NAMES) : `the ${pick(ADJECTIVES)} ${pick(NOUNS)}`, pick(VERBS)];
    parts.push(random() < 0.5 ? `the ${pick(NOUNS)}` : `the ${pick(ADJECTIVES)} ${pick(NOUNS)} near ${pick(PLACES)}`);
    if (random() < 0.35) parts.push(pick(ADVERBS));
    return parts.join(' ');
  };
  const sentence = () => {
    let text = clause();
    for (let i = 0; i < 3 && random() < 0.45; i++) text += `${random() < 0.5 ? ',' : ''} ${pick(CONNECTIVES)} ${clause()}`;
    if (random() < 0.15) {
      return `"${capitalise(clause())}${random() < 0.3 ? '?' : '.'}" ${pick(NAMES)} ${pick(SPEECH)}.`;
    }
    return `${capitalise(text)}${random() < 0.08 ? '!' : '.'}`;
  };
  const out: string[] = [];
  for (let c = 1; c <= chapters; c++) {
    out.push(`# Chapter ${c}: The ${capitalise(pick(ADJECTIVES))} ${capitalise(pick(NOUNS))}\n`);
    let words = 0;
    while (words < wordsPerChapter) {
      const paragraph: string[] = [];
      const length = 2 + Math.floor(random() * 6);
      for (let s = 0; s < length && words < wordsPerChapter; s++) {
        const text = sentence();
        paragraph.push(text);
        words += text.split(' ').length;
      }
      out.push(`${paragraph.join(' ')}\n`);
    }
  }
  return out.join('\n');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
