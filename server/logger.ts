import { pino, type Logger } from 'pino';

/** Structured JSON logs; components take child loggers (`{component: 'worker'}`). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'herald' }, timestamp: pino.stdTimeFunctions.isoTime });
}
