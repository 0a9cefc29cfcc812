/**
 * Cosine similarity of two vectors of the same length, in [-1, 1]. A zero
 * vector (the builtin embedding of empty text) is similar to nothing: 0.
 *
 * @example cosineSimilarity([1, 0], [1, 1]) // → 0.7071…
 * @throws RangeError when the lengths differ.
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new RangeError(`cosineSimilarity: vectors differ in length (${a.length} vs ${b.length})`);
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) return 0;
  return dot / Math.sqrt(normA * normB);
}

/** Scales a vector to unit length; a zero vector is returned as zeros. */
export function l2Normalize(vector: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.sqrt(sum);
  return Array.from(vector, (x) => (norm === 0 ? 0 : x / norm));
}
