import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { TEST_DATABASE_URL } from './env.ts';
import { freePort } from './private-redis.ts';
import { waitFor } from './wait.ts';

export interface PrivatePgBouncer {
  port: number;
  /** `url` (a TEST_DATABASE_URL-style URL to one database) rewritten to go through this pooler. */
  urlFor(directUrl: string): string;
  /** SIGTERMs pgbouncer (immediate shutdown), waits for it to exit and removes its files. */
  stop(): Promise<void>;
}

/** Where Debian's package puts the binary; PGBOUNCER_PATH overrides. */
const CANDIDATES = [process.env.PGBOUNCER_PATH, '/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

function pgbouncerBinary(): string {
  const found = CANDIDATES.find((path): path is string => !!path && existsSync(path));
  if (!found) {
    throw new Error('pgbouncer is not installed: these tests run Herald behind a real PgBouncer. Install it with `apt-get install -y pgbouncer` (or set PGBOUNCER_PATH).');
  }
  return found;
}

/**
 * A pgbouncer of this test's own, in transaction mode (as hosted PostgreSQL
 * puts in front), on a free port, forwarding every database name to the test
 * PostgreSQL. It refuses to run as root, so as root it runs as `postgres`.
 */
export async function startPgBouncer(): Promise<PrivatePgBouncer> {
  const binary = pgbouncerBinary();
  const server = new URL(TEST_DATABASE_URL);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-pgbouncer-'));
  const user = decodeURIComponent(server.username || 'postgres');
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${decodeURIComponent(server.password)}"\n`);
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    // The fallback entry: any database name goes to the same name on the test server.
    `* = host=${server.hostname} port=${server.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'pool_mode = transaction',
    'auth_type = trust',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    'max_client_conn = 500',
    'default_pool_size = 20',
    'server_lifetime = 600',
    '',
  ].join('\n'));
  const root = userInfo().uid === 0;
  const ids = root ? postgresIds() : undefined;
  if (ids) chownSync(dir, ids.uid, ids.gid);

  const child: ChildProcess = spawn(binary, [join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'], ...ids });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`pgbouncer to listen on port ${port}`, () => {
      if (exited) throw new Error(`pgbouncer exited: ${log.trim()}`);
      return accepts(port);
    }, 10_000, 50);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    urlFor(directUrl) {
      const url = new URL(directUrl);
      url.host = `127.0.0.1:${port}`;
      return url.toString();
    },
    stop,
  };
}

function postgresIds(): { uid: number; gid: number } {
  const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find((line: string) => line.startsWith('postgres:'));
  if (!entry) throw new Error('pgbouncer refuses to run as root and there is no postgres user to run it as; run the tests as another user');
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
