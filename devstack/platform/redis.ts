/**
 * Which Redis `npm run dev` uses: `REDIS_URL` when set, else a local `redis-server` on a
 * free port keeping its data under `.tandem/redis`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseEnv, textVar } from '../config/cli.ts';
import { findFreePort, isPortInUse } from '../net/ports.ts';
import { hasRedisServer, startRedisServer } from '../redis/server.ts';

/** Preferred port of the devstack's own Redis. */
export const DEV_REDIS_PORT = 54337;

export interface ProvisionedRedis {
  url: string;
  source: 'environment' | 'local';
  stop(): Promise<void>;
}

/** Thrown when there is neither REDIS_URL nor a redis-server to start; its message is one line. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * Finds or starts the devstack's Redis.
 *
 * @example
 * const redis = await provisionRedis({ stateDir: '.tandem' });
 */
export async function provisionRedis(options: { stateDir: string; env?: NodeJS.ProcessEnv }): Promise<ProvisionedRedis> {
  const fromEnv = parseEnv(z.object({ REDIS_URL: textVar() }), options.env ?? process.env).REDIS_URL;
  if (fromEnv) return { url: fromEnv, source: 'environment', stop: async () => undefined };
  if (!hasRedisServer()) {
    throw new RedisUnavailableError(
      'redis-server is not installed: install it (sudo apt-get install redis-server) or set REDIS_URL to a Redis you run',
    );
  }
  const port = (await isPortInUse(DEV_REDIS_PORT)) ? await findFreePort() : DEV_REDIS_PORT;
  const server = await startRedisServer({ port, dir: resolve(options.stateDir, 'redis') });
  return { url: server.url, source: 'local', stop: () => server.stop() };
}
