/**
 * The AI work a chapter needs, behind one interface: `builtin` (offline,
 * deterministic) and `openai` (any OpenAI-compatible endpoint).
 */
export interface AiProvider {
  readonly name: 'builtin' | 'openai' | (string & {});
  /** A short summary of the text. Empty text gives an empty summary. */
  summarize(text: string, options?: AiCallOptions): Promise<string>;
  /** An L2-normalised embedding vector of the text. */
  embed(text: string, options?: AiCallOptions): Promise<number[]>;
}

export interface AiCallOptions {
  /** Aborts the call (job cancelled or worker shutting down). */
  signal?: AbortSignal;
  /** How far the call is, 0..1, as often as the provider can tell (the worker coalesces what it passes on). */
  onProgress?: (fraction: number) => void;
}
