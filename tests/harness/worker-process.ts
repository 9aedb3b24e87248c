/**
 * The worker as its own OS process (`node --import tsx worker/src/main.ts`), for tests and
 * benchmarks that kill it or keep it off the load generator's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from '../../devstack/db/setup.ts';

/**
 * Spawns one worker process. One process, not the tsx CLI: a SIGKILL must hit the worker
 * itself, and the CLI would leave its child running.
 *
 * @example
 * const worker = spawnWorkerProcess({ DATABASE_URL, REDIS_URL, PORT: '0' }, { onLine: (line) => lines.push(line) });
 * worker.kill('SIGTERM');
 */
export function spawnWorkerProcess(env: NodeJS.ProcessEnv, options: { onLine?: (line: string) => void } = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/src/main.ts'], {
    cwd: repoRoot,
    // Diagnostic job types on, as everywhere in the tests and the benchmark (env may turn them off).
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TANDEM_DIAGNOSTIC_JOBS: 'on', ...env },
    stdio: options.onLine ? ['ignore', 'pipe', 'pipe'] : 'ignore',
  });
  if (options.onLine) {
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) if (line) options.onLine!(line);
      });
    }
  }
  return child;
}
