/**
 * `npm run functions`: serves the edge functions on
 * http://127.0.0.1:${PORT:-54331}/functions/v1/<name>, like `supabase functions serve`.
 *
 * Each function runs unchanged (its Supabase entrypoint, `Deno.serve(app.fetch)`) in its
 * own Deno process with its own `deno.json`, on an internal port (DENO_SERVE_ADDRESS); a
 * small proxy maps `/functions/v1/<name>/...` to `/<name>/...` on that process, as the
 * Supabase edge runtime does. `startFunctions` is the same thing as a library, for tests
 * and the devstack gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { parseEnv, parseFlags, portVar, runCommand } from '../config/cli.ts';
import { repoRoot } from '../db/setup.ts';
import { findFreePort } from '../net/ports.ts';
import { proxyHttp } from '../net/proxy.ts';

/** The functions this repository ships (folders of edge-functions/). */
export const FUNCTION_NAMES = ['projects', 'jobs'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * The Deno binary of the pinned `deno` npm package. Its install script only links the
 * binary that the platform package (`@deno/<platform>`) ships; where npm skipped that
 * script, the platform package's binary is used directly.
 */
export const denoBinary = resolveDenoBinary();

function resolveDenoBinary(): string {
  const linked = join(repoRoot, 'node_modules', 'deno', 'deno');
  if (existsSync(linked)) return linked;
  const platformDir = join(repoRoot, 'node_modules', '@deno');
  const shipped = existsSync(platformDir)
    ? readdirSync(platformDir).map((name) => join(platformDir, name, 'deno')).find((path) => existsSync(path))
    : undefined;
  return shipped ?? linked;
}

/** Deno permissions a function gets (what the Supabase edge runtime grants). */
const DENO_PERMISSIONS = ['--allow-net', '--allow-env', '--allow-read', '--allow-sys'];

export interface StartFunctionsOptions {
  /** Port of the proxy (0 = any free port). Default: PORT or 54331. */
  port?: number;
  host?: string;
  /** Environment of the function processes (DATABASE_URL, REDIS_URL, TANDEM_JWT_SECRET, ...). Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Which functions to run. Default: all. */
  functions?: readonly FunctionName[];
  /** Receives each line the functions print (JSON log lines), tagged with the function. Default: dropped. */
  onLine?: (name: FunctionName, line: string) => void;
  /** How long a function may take to answer its first request. Default 30 s. */
  startTimeoutMs?: number;
}

export interface RunningFunctions {
  /** Base URL of the functions, e.g. http://127.0.0.1:54331/functions/v1 */
  url: string;
  port: number;
  /** Milliseconds from spawning each Deno process to its first answered request. */
  coldStartMs: Record<string, number>;
  /** Each function's own server, bypassing the proxy (paths start with /<name>); follows restarts. */
  directUrls: Record<string, string>;
  /** The process id of a function's current Deno process (a process that dies is restarted). */
  pid(name: FunctionName): number | undefined;
  /** Stops the proxy and every Deno process. */
  stop(): Promise<void>;
}

interface RunningFunction {
  name: FunctionName;
  port: number;
  child: ChildProcess;
  coldStartMs: number;
}

function forwardLines(child: ChildProcess, name: FunctionName, onLine?: (name: FunctionName, line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine?.(name, line);
    });
  }
}

async function waitForFirstAnswer(name: FunctionName, port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${name} function exited with code ${child.exitCode} while starting`);
    try {
      // Any answer will do; a CORS preflight touches neither Postgres nor Redis.
      const response = await fetch(`http://127.0.0.1:${port}/${name}/health`, { method: 'OPTIONS' });
      await response.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the ${name} function did not answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

async function startFunction(name: FunctionName, options: StartFunctionsOptions): Promise<RunningFunction> {
  const port = await findFreePort();
  const dir = join(repoRoot, 'edge-functions', name);
  const started = performance.now();
  const child = spawn(denoBinary, ['run', ...DENO_PERMISSIONS, '--config', join(dir, 'deno.json'), join(dir, 'index.ts')], {
    cwd: dir,
    env: {
      ...(options.env ?? process.env),
      DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  forwardLines(child, name, options.onLine);
  try {
    await waitForFirstAnswer(name, port, child, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { name, port, child, coldStartMs: Math.round(performance.now() - started) };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': randomUUID() });
  res.end(JSON.stringify(body));
}

/**
 * Starts the functions and the proxy in front of them; resolves once every function
 * has answered a request.
 *
 * @example
 * const functions = await startFunctions({ port: 0, env: { DATABASE_URL, REDIS_URL, TANDEM_JWT_SECRET } });
 * await fetch(`${functions.url}/projects/health`);
 * await functions.stop();
 */
export async function startFunctions(options: StartFunctionsOptions = {}): Promise<RunningFunctions> {
  const names = options.functions ?? FUNCTION_NAMES;
  const settled = await Promise.allSettled(names.map((name) => startFunction(name, options)));
  const running = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    for (const fn of running) fn.child.kill('SIGKILL');
    throw failure.reason;
  }
  const byName = new Map(running.map((fn) => [fn.name as string, fn]));
  const directUrls: Record<string, string> = {};
  let stopping = false;

  // The Supabase edge runtime starts a new worker when one dies (an uncaught error, out of
  // memory); so does this server, so that one crash is not an outage until someone notices.
  const supervise = (fn: RunningFunction): void => {
    directUrls[fn.name] = `http://127.0.0.1:${fn.port}`;
    fn.child.once('exit', (code, signal) => {
      if (stopping) return;
      options.onLine?.(fn.name, JSON.stringify({ level: 'error', msg: 'function_exited', function: fn.name, code, signal }));
      const restart = async (attempt: number): Promise<void> => {
        // A function that dies at once every time is retried at most every 5 s.
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
        if (stopping) return;
        try {
          const next = await startFunction(fn.name, options);
          if (stopping) {
            next.child.kill('SIGTERM');
            return;
          }
          byName.set(fn.name, next);
          options.onLine?.(fn.name, JSON.stringify({ level: 'info', msg: 'function_restarted', function: fn.name, attempt: attempt + 1 }));
          supervise(next);
        } catch {
          await restart(attempt + 1);
        }
      };
      void restart(0);
    });
  };
  for (const fn of running) supervise(fn);

  const server: Server = createServer((req, res) => {
    const match = /^\/functions\/v1\/([^/?]+)([/?].*)?$/.exec(req.url ?? '/');
    const fn = match ? byName.get(match[1]!) : undefined;
    if (!match || !fn) {
      sendJson(res, 404, { error: { code: 'not_found', message: `no function at ${(req.url ?? '/').split('?')[0]}` } });
      return;
    }
    // The router stands for the edge runtime's own dispatch, not a proxy hop: the function
    // sees X-Forwarded-For as the client (or the gateway in front) wrote it, and counts
    // trusted hops from there (TANDEM_TRUSTED_PROXY_HOPS, docs/functions.md).
    proxyHttp(req, res, { port: fn.port, path: `/${match[1]}${match[2] ?? ''}`, appendForwardedFor: false }, () =>
      sendJson(res, 503, { error: { code: 'unavailable', message: 'the function is not running' } }),
    );
  });
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? parseEnv(z.object({ PORT: portVar(54331) }), process.env).PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;

  return {
    url: `http://${host}:${boundPort}/functions/v1`,
    port: boundPort,
    coldStartMs: Object.fromEntries(running.map((fn) => [fn.name, fn.coldStartMs])),
    directUrls,
    pid: (name) => byName.get(name)?.child.pid,
    async stop() {
      stopping = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(
        [...byName.values()].map(
          (fn) =>
            new Promise<void>((resolve) => {
              if (fn.child.exitCode !== null || fn.child.signalCode !== null) return resolve();
              fn.child.once('exit', () => resolve());
              fn.child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

async function main(): Promise<void> {
  parseFlags(process.argv.slice(2), {});
  if (!process.env.SUPABASE_DB_URL && !process.env.DATABASE_URL) {
    process.stderr.write('warning: neither SUPABASE_DB_URL nor DATABASE_URL is set; requests that need Postgres will get 503\n');
  }
  if (!process.env.TANDEM_JWT_SECRET && !process.env.SUPABASE_JWKS && !process.env.SUPABASE_URL) {
    process.stderr.write('warning: no TANDEM_JWT_SECRET, SUPABASE_JWKS or SUPABASE_URL: no access token can be verified\n');
  }
  const functions = await startFunctions({ onLine: (_name, line) => process.stdout.write(`${line}\n`) });
  for (const name of FUNCTION_NAMES) {
    process.stdout.write(`${name}: ${functions.url}/${name} (docs: ${functions.url}/${name}/docs, cold start ${functions.coldStartMs[name]} ms)\n`);
  }
  const shutdown = () => void functions.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runCommand('functions', main);
