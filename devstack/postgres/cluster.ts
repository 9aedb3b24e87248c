/**
 * A PostgreSQL cluster started from the system binaries (`/usr/lib/postgresql/<n>/bin`).
 *
 * Used by the test harness (a throwaway cluster per run) and by `npm run dev` (a
 * persistent cluster under `.tandem/`). PostgreSQL refuses to run as root, so when this
 * process is root the cluster runs as the unprivileged `postgres` OS user and its data
 * lives where that user can write.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../net/ports.ts';

const run = promisify(execFile);

/** Ports the Supabase CLI treats as its Docker database; a cluster never uses them. */
const CLI_RESERVED_PORTS = new Set([54320, 54322]);

export interface ClusterOptions {
  /** Data directory; a fresh temporary one when omitted (throwaway cluster). */
  dataDir?: string;
  /** Port; a free one (never 54320/54322) when omitted. */
  port?: number;
  /** fsync on (durable, as in production) or off (faster throwaway tests). Default off. */
  fsync?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

export interface Cluster {
  /** Superuser (`supabase_admin`) URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops the server (fast shutdown); the data stays. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port. */
  start(): Promise<void>;
  /** Stops the server and deletes the data directory. */
  destroy(): Promise<void>;
}

/**
 * Directory of the newest PostgreSQL server binaries on this machine.
 *
 * @example
 * findPostgresBinDir() // '/usr/lib/postgresql/15/bin'
 */
export function findPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The OS user the server runs as: `postgres` when we are root, else ourselves. */
function serverOsUser(): { name: string; uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const result = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gidResult = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (result.status !== 0 || gidResult.status !== 0) {
    throw new Error('running as root, but there is no "postgres" OS user to run PostgreSQL as (install postgresql)');
  }
  return { name: 'postgres', uid: Number(result.stdout.trim()), gid: Number(gidResult.stdout.trim()) };
}

async function asServerUser(binary: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const user = serverOsUser();
  if (user) return run('runuser', ['-u', user.name, '--', binary, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return run(binary, args, { maxBuffer: 16 * 1024 * 1024 });
}

function ensureOwnedByServerUser(dir: string): void {
  const user = serverOsUser();
  if (!user) return;
  chownSync(dir, user.uid, user.gid);
}

/** As root, the server user must be able to reach the data directory's parent. */
function assertReachableByServerUser(dir: string): void {
  const user = serverOsUser();
  if (!user) return;
  if (spawnSync('runuser', ['-u', user.name, '--', 'test', '-x', dir]).status !== 0) {
    throw new Error(
      `PostgreSQL runs as the "${user.name}" OS user, who cannot reach ${dir}: make it and its parents traversable (chmod o+x) or use another directory`,
    );
  }
}

/**
 * Creates (when the data directory is empty) and starts a cluster whose superuser is
 * `supabase_admin`, with `wal_level=logical` as Supabase runs.
 *
 * @example
 * const cluster = await startCluster();
 * // ... use cluster.url ...
 * await cluster.destroy();
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const bin = findPostgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql-15)');
  const throwaway = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'tandem-pg-')), 'data');
  const parent = join(dataDir, '..');
  mkdirSync(parent, { recursive: true });
  if (throwaway) ensureOwnedByServerUser(parent);
  assertReachableByServerUser(parent);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    ensureOwnedByServerUser(dataDir);
    await asServerUser(join(bin, 'initdb'), [
      '-D', dataDir, '-U', 'supabase_admin', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8',
    ]);
  }

  let port = options.port ?? (await findFreePort({ avoid: CLI_RESERVED_PORTS }));
  if (CLI_RESERVED_PORTS.has(port)) throw new Error(`port ${port} is reserved for the Supabase CLI's Docker database`);
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    wal_level: 'logical',
    max_connections: 300,
    fsync: options.fsync ? 'on' : 'off',
    synchronous_commit: options.fsync ? 'on' : 'off',
    full_page_writes: options.fsync ? 'on' : 'off',
    max_wal_senders: 10,
    max_replication_slots: 10,
    shared_buffers: '256MB',
    ...options.settings,
  };
  const logFile = join(dataDir, 'server.log');

  const start = async () => {
    const serverArgs = Object.entries({ port, ...settings })
      .map(([name, value]) => `-c ${name}=${value}`)
      .join(' ');
    await asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverArgs, 'start']);
  };
  const stop = async () => {
    if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
    await asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };

  await start();
  const url = `postgres://supabase_admin@127.0.0.1:${port}/postgres?sslmode=disable`;
  return {
    url,
    port,
    dataDir,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(throwaway ? parent : dataDir, { recursive: true, force: true });
    },
  };
}
