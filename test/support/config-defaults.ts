import { loadConfig } from '../../server/config.ts';

/**
 * The configuration as Herald starts with no variables set. Tests that build
 * a part directly pass its options from here, so every default is stated once,
 * in server/config-schema.ts.
 */
export const DEFAULT_CONFIG = loadConfig({});
