/**
 * `npm start`: runs the roles asked for (`--role=api,gateway,worker`) until
 * SIGTERM or SIGINT, then shuts down cleanly and exits 0.
 *
 * Without `--role`, every role runs: the api and gateway in this process and
 * the worker in a child process at lower CPU priority, which this process
 * supervises (signals, logs, restarts, /health), so ingest work does not slow
 * the API. `--single-process` (or SINGLE_PROCESS=on) runs all three in this
 * one process instead, for debugging.
 */
import { ConfigError, loadConfig, parseRoles, type Role } from './config.ts';
import { startHerald } from './herald.ts';
import { createLogger } from './logger.ts';
import { StartupError } from './startup-errors.ts';
import { childExecArgv, createWorkerSupervisor, type MetricsAnswer, type MetricsRequest, type WorkerReadyMessage, type WorkerSupervisor } from './worker-supervisor.ts';

const SINGLE_PROCESS_FLAG = '--single-process';
/** Marks the worker child started by the supervisor: it reports readiness over IPC and stops when its parent is gone. */
const SUPERVISED_FLAG = '--supervised';

async function main() {
  const config = loadConfig();
  const argv = process.argv.slice(2);
  const roles = parseRoles(argv);
  const supervised = argv.includes(SUPERVISED_FLAG);
  // The worker child writes to the same stdout; its lines say which process wrote them.
  const logger = supervised ? createLogger(config.logLevel).child({ process: 'worker' }) : createLogger(config.logLevel);
  // A promise rejected with no handler is a bug, but not one worth every running job and socket of this
  // process: it is logged (with its stack) and the process carries on. An uncaught exception still ends it.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'a promise was rejected with no handler; the process carries on'));
  process.on('uncaughtExceptionMonitor', (err, origin) => logger.fatal({ err, origin }, 'uncaught exception; the process exits'));
  const namesRoles = argv.some((arg) => arg === '--role' || arg.startsWith('--role='));
  const supervisor = !namesRoles && !argv.includes(SINGLE_PROCESS_FLAG) && !config.processes.singleProcess
    ? createWorkerSupervisor({
      args: [...childExecArgv(process.execArgv), process.argv[1]!, '--role=worker', SUPERVISED_FLAG],
      // Its HTTP server (health, metrics) must not take this one's port, nor be reachable from outside.
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      nice: config.processes.workerNice,
      logger,
    })
    : undefined;
  const name = supervised ? 'herald worker process' : 'herald';
  const started: readonly Role[] = supervisor ? ['api', 'gateway'] : roles;
  // Migrations run in here, before the worker child starts (which then finds none pending).
  const herald = await startHerald({
    config, roles: started, logger,
    ...(supervisor && { healthChecks: [supervisor.healthCheck], moreMetrics: () => supervisor.metrics() }),
  });
  supervisor?.start();
  // For a person at the terminal, besides the JSON log on stdout (which stays JSON lines only).
  if (!supervised && started.includes('api')) console.error(`Editor: ${herald.editorUrl}`);

  let stopping = false;
  const stop = async (reason: string, signal: NodeJS.Signals = 'SIGTERM') => {
    if (stopping) return;
    stopping = true;
    console.error(`${name}: ${reason}, shutting down (running jobs finish or are handed back)`);
    const force = setTimeout(() => {
      console.error(`${name}: shutdown took longer than 30 s; exiting anyway (unfinished jobs will be retried)`);
      process.exit(1);
    }, 30_000);
    force.unref();
    const [, workerExitedCleanly] = await Promise.all([herald.close(), stopWorker(supervisor, signal)]);
    process.exit(workerExitedCleanly ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM received', 'SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT received', 'SIGINT'));
  if (supervised && process.send) {
    process.send({ type: 'herald:worker-ready', url: herald.url } satisfies WorkerReadyMessage);
    // The supervisor's GET /metrics folds this process's metrics into its own.
    process.on('message', (message: Partial<MetricsRequest>) => {
      if (message?.type !== 'herald:metrics-request') return;
      void herald.metricsSnapshot().then((metrics) => process.send?.({ type: 'herald:metrics', id: message.id!, metrics } satisfies MetricsAnswer));
    });
    // The IPC channel closes when the supervisor dies, even by SIGKILL: no worker is left behind.
    process.once('disconnect', () => void stop('the supervising process is gone'));
  }
}

async function stopWorker(supervisor: WorkerSupervisor | undefined, signal: NodeJS.Signals): Promise<boolean> {
  if (!supervisor) return true;
  const clean = await supervisor.stop(signal);
  if (!clean) console.error('herald: the worker process did not exit cleanly');
  return clean;
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(`herald: ${error.message}`);
  } else {
    console.error(`herald: failed to start: ${(error as Error)?.message ?? error}`);
  }
  process.exit(1);
});
