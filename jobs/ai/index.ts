import { createBuiltinProvider } from './builtin.ts';
import { createOpenAiProvider } from './openai.ts';
import type { AiProvider } from './provider.ts';

export type { AiCallOptions, AiProvider } from './provider.ts';

/** The AI slice of the validated config (`Config['ai']`). */
export interface AiConfig {
  provider: 'builtin' | 'openai';
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  embedModel: string;
  /** Builtin only: delay added to each call. */
  simulatedLatencyMs: number;
}

/**
 * The provider the config names: `builtin` (offline, deterministic) or
 * `openai` (any OpenAI-compatible endpoint; needs an API key).
 */
export function createAiProvider(config: AiConfig): AiProvider {
  if (config.provider === 'builtin') {
    return createBuiltinProvider({ simulatedLatencyMs: config.simulatedLatencyMs });
  }
  if (!config.apiKey) throw new Error('AI_API_KEY is required when AI_PROVIDER=openai');
  return createOpenAiProvider({
    baseUrl: config.baseUrl,
    apiKey: config.apiKey,
    model: config.model,
    embedModel: config.embedModel,
  });
}
