/**
 * `npm run token -- <user> [name]`: prints a token for a user, signed with
 * AUTH_SECRET (or the development key `npm start` uses when it is unset), on
 * stdout alone (`TOKEN=$(npm run -s token -- alice)`), and the editor's
 * address signed in as that user on stderr, for a person to open.
 */
import { ConfigError, loadConfig } from './config.ts';
import { resolveAuthSecret, signToken } from './auth.ts';
import { editorUrl } from './editor-url.ts';

async function main() {
  const [userId, name] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (!userId || userId.length > 128) {
    console.error('usage: npm run token -- <user-id (1-128 characters)> [display name]');
    process.exit(1);
  }
  const config = loadConfig();
  const { secret } = await resolveAuthSecret(config.authSecret);
  const token = await signToken(secret, userId, name ? { name } : {});
  console.log(token);
  console.error(`Editor: ${editorUrl(config.host, config.port, token)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `token: ${(error as Error).message}`);
  process.exit(1);
});
