/**
 * The import direction, checked in `pretest` (`npm run lint:deps`):
 *
 *   server → jobs → realtime → sql → domain
 *
 * A folder imports only itself and folders to its right; `domain/` imports
 * nothing of the project and no I/O module (files, network, processes,
 * PostgreSQL, Redis, queues, logger). The browser code (the SDK in
 * `realtime/client/`, the editor page in `realtime/page/`) imports only
 * `domain/`, itself and the event contract (`realtime/events.ts`, types and
 * constants shared with the gateway): nothing that runs on the server.
 * Type-only imports count too. No module reaches itself through a cycle.
 */
const LAYERS = ['server', 'jobs', 'realtime', 'sql', 'domain'];

const rightOf = (layer) => {
  const right = LAYERS.slice(LAYERS.indexOf(layer) + 1);
  return right.length > 0 ? `only itself and ${right.map((l) => `${l}/`).join(', ')}` : 'nothing of the project';
};

const directionRules = LAYERS.slice(1).map((layer, i) => ({
  name: `${layer}-imports-rightwards`,
  comment: `${layer}/ may import ${rightOf(layer)}: server → jobs → realtime → sql → domain`,
  severity: 'error',
  from: { path: `^${layer}/` },
  to: { path: `^(${LAYERS.slice(0, i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...directionRules,
    {
      name: 'browser-code-stays-browser',
      comment:
        'realtime/client/ (the SDK) and realtime/page/ (the editor page) run in the browser: they may import domain/, each other and realtime/events.ts, nothing server-side',
      severity: 'error',
      from: { path: '^realtime/(client|page)/' },
      to: {
        path: '^(server|jobs|realtime|sql)/',
        pathNot: ['^realtime/(client|page)/', '^realtime/events\\.ts$'],
      },
    },
    {
      name: 'domain-has-no-io',
      comment:
        'domain/ is pure logic: no files, sockets, processes or stores (give it the data, or take the I/O to the folder that does it)',
      severity: 'error',
      from: { path: '^domain/' },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        path: '^(node:)?(fs|net|http|https|http2|child_process|dgram|dns|tls|cluster|worker_threads)(/|$)|(^|/)node_modules/(ioredis|postgres|bullmq|socket\\.io|socket\\.io-client|pino|hono|@hono|esbuild|@bull-board)/',
      },
    },
    {
      name: 'no-circular',
      comment: 'a module reaches itself again through its imports: break the cycle (move what both need into a module of its own)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
