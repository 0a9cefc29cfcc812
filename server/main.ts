/**
 * `npm start`: runs the roles asked for (`--role=api,gateway,worker`, default
 * all) until SIGTERM or SIGINT, then shuts down cleanly and exits 0.
 */
import { ConfigError, loadConfig, parseRoles } from './config.ts';
import { startHerald } from './herald.ts';
import { StartupError } from './startup-errors.ts';

async function main() {
  const config = loadConfig();
  const roles = parseRoles(process.argv.slice(2));
  const herald = await startHerald({ config, roles });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`herald: ${signal} received, shutting down (running jobs finish or are handed back)`);
    const force = setTimeout(() => {
      console.error('herald: shutdown took longer than 30 s; exiting anyway (unfinished jobs will be retried)');
      process.exit(1);
    }, 30_000);
    force.unref();
    await herald.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(`herald: ${error.message}`);
  } else {
    console.error(`herald: failed to start: ${(error as Error)?.message ?? error}`);
  }
  process.exit(1);
});
