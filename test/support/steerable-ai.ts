import { createBuiltinProvider, type BuiltinProviderOptions } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';

/**
 * The builtin provider, steered by markers in the text: `CURSED` fails until
 * `heal()`, `HANG` waits until the job's signal aborts (a cancel). Nothing
 * starts before `open()`, so a test sees each job's first states.
 */
export function steerableProvider(): AiProvider & { open(): void; heal(): void; calls: number } {
  const real = createBuiltinProvider();
  let healed = false;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const provider = {
    name: 'steerable',
    calls: 0,
    open,
    heal: () => void (healed = true),
    async summarize(text: string, options?: Parameters<AiProvider['summarize']>[1]) {
      await gate;
      provider.calls++;
      if (/\bCURSED\b/.test(text) && !healed) throw new Error('model refused (cursed)');
      if (/\bHANG\b/.test(text)) {
        await new Promise((_, reject) => {
          const signal = options?.signal;
          if (signal?.aborted) return reject(new Error('aborted'));
          signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
      }
      return real.summarize(text, options);
    },
    embed: (text: string, options?: Parameters<AiProvider['embed']>[1]) => real.embed(text, options),
  };
  return provider;
}

/**
 * The builtin provider, whose summaries wait from `hold()` until `release()`:
 * a test that must act while an ingest is still running holds it, however
 * slowly its own process gets there.
 */
export function holdableProvider(options: BuiltinProviderOptions = {}): AiProvider & { hold(): void; release(): void } {
  const real = createBuiltinProvider(options);
  let gate: Promise<void> = Promise.resolve();
  let release = () => {};
  return {
    name: 'holdable',
    hold() {
      gate = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => release(),
    async summarize(text, options) {
      await gate;
      return real.summarize(text, options);
    },
    embed: (text, options) => real.embed(text, options),
  };
}
