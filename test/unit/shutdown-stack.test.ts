import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { createShutdownStack } from '../../server/roles/shutdown-stack.ts';

/** A logger that keeps what it warns about. */
function recordingLogger() {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  return { logger, warnings };
}

describe('shutdown stack', () => {
  it('closes the parts last started first', async () => {
    const { logger } = recordingLogger();
    const stack = createShutdownStack(logger);
    const closed: string[] = [];
    for (const name of ['stores', 'core', 'worker', 'http', 'gateway']) stack.push({ close: async () => void closed.push(name) });
    await stack.close();
    expect(closed).toEqual(['gateway', 'http', 'worker', 'core', 'stores']);
  });

  it('logs a part that fails to close and still closes the ones before it', async () => {
    const { logger, warnings } = recordingLogger();
    const stack = createShutdownStack(logger);
    const closed: string[] = [];
    stack.push({ close: async () => void closed.push('stores') });
    stack.push({ close: () => Promise.reject(new Error('socket server would not close')) });
    await stack.close();
    expect(closed).toEqual(['stores']);
    expect(warnings).toEqual(['error during shutdown']);
  });

  it('closes each part once, however often close is called', async () => {
    const { logger } = recordingLogger();
    const stack = createShutdownStack(logger);
    let closes = 0;
    stack.push({ close: async () => void closes++ });
    await Promise.all([stack.close(), stack.close()]);
    await stack.close();
    expect(closes).toBe(1);
  });

  it('returns the part it was given, so a start reads as one line', () => {
    const stack = createShutdownStack(recordingLogger().logger);
    const part = { close: async () => {}, name: 'gateway' };
    expect(stack.push(part)).toBe(part);
  });
});
