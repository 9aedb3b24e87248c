/**
 * `npm run worker`: runs the worker from source, configured by the environment (see
 * docs/worker.md). Exits 2 on a bad configuration, 0 after a graceful stop on SIGTERM or
 * SIGINT (a second signal, given a second or more after the first, exits at once).
 */
import { createLogger } from '../../core/log.ts';
import { ConfigError, loadConfig } from './config.ts';
import { startWorker } from './worker.ts';

const bootLog = createLogger({ service: 'worker' });

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      bootLog.error('config_invalid', { message: error.message });
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const worker = await startWorker(config, { defaultMetrics: true });
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt) {
      // One Ctrl-C arrives more than once (the terminal signals the whole process group and
      // npm forwards it again): only a signal given well after the first forces the exit.
      if (Date.now() - firstSignalAt < 1000) return;
      bootLog.warn('worker_forced_exit', { signal });
      process.exit(1);
    }
    firstSignalAt = Date.now();
    bootLog.info('worker_signal', { signal });
    worker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        bootLog.error('worker_stop_failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  bootLog.error('worker_start_failed', { error });
  process.exit(1);
});
