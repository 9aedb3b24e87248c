/**
 * A `redis-server` child process on a free (or given) port, for tests and `npm run dev`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { findFreePort } from '../net/ports.ts';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (after stop()). */
  start(): Promise<void>;
}

/** True when `redis-server` is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `redis-server` with BullMQ's required `maxmemory-policy noeviction`.
 * With `dir`, data is kept there (append-only file); without, nothing is persisted.
 *
 * @example
 * const redis = await startRedisServer();
 * // ... new IORedis(redis.url) ...
 * await redis.stop();
 */
export async function startRedisServer(options: { port?: number; dir?: string } = {}): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = options.port ?? (await findFreePort());
  let child: ChildProcess | undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--maxmemory-policy', 'noeviction', '--save', ''];
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    args.push('--dir', options.dir, '--appendonly', 'yes');
  } else {
    args.push('--appendonly', 'no');
  }
  const start = async () => {
    // Its own process group: a Ctrl-C meant for `npm run dev` must not kill Redis before
    // the worker has drained; whoever started it stops it.
    child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
    await waitForPing(port);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
