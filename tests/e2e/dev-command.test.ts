/**
 * `npm run dev` as a newcomer runs it: on a fresh data directory it becomes ready, serves
 * the health endpoints and the console, and stops every process cleanly on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { findFreePort } from '../../devstack/net/ports.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'tandem-dev-'));
// Like a checkout's .tandem/: the postgres OS user (when we are root) must reach it.
chmodSync(stateDir, 0o755);
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

test('npm run dev starts on a fresh data directory, serves, and stops cleanly on SIGINT', async () => {
  const gatewayPort = await findFreePort({ avoid: new Set([54320, 54322]) });
  const workerPort = await findFreePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TANDEM_DEV_STATE_DIR: stateDir,
    TANDEM_GATEWAY_PORT: String(gatewayPort),
    TANDEM_WORKER_PORT: String(workerPort),
  };
  for (const name of ['DATABASE_URL', 'SUPABASE_DB_URL', 'REDIS_URL']) delete env[name];
  // Its own process group, so the SIGINT below reaches it the way a terminal's Ctrl-C does.
  const dev = spawn('npm', ['run', 'dev'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  dev.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  dev.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close': the process has exited and every process writing to its output is gone too.
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    dev.once('close', (code, signal) => resolve({ code, signal })),
  );

  const deadline = Date.now() + 150_000;
  while (!/^ready$/m.test(output)) {
    if (dev.exitCode !== null || Date.now() > deadline) throw new Error(`npm run dev did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  expect(output).toContain(`console      ${gateway}/`);
  expect(output).toMatch(/anon key\s+eyJ/);

  for (const path of ['/functions/v1/projects/health', '/functions/v1/jobs/health']) {
    const response = await fetch(`${gateway}${path}`);
    expect(response.status, path).toBe(200);
    expect(await response.json(), path).toMatchObject({ status: 'ok' });
  }
  expect((await fetch(`${gateway}/auth/v1/health`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${workerPort}/health`)).status).toBe(200);
  const console = await fetch(`${gateway}/`);
  expect(await console.text()).toContain('<title>Tandem console</title>');
  expect((await fetch(`${gateway}/vendor/supabase.js`)).status).toBe(200);
  // Realtime's REST broadcast, routed as the CLI's gateway routes /realtime/v1/api.
  const anonKey = /anon key\s+(eyJ\S+)/.exec(output)?.[1] ?? '';
  // The local Data API: anon may read no table of the migrations, as PostgREST answers it.
  expect(output).toMatch(/\/rest\/v1\s+local Data API as PostgREST v16\.2: .*rpc\(\)/);
  expect(output).toMatch(/not yet \(501 PGRST127\): .*README "The local Data API"/);
  const rest = await fetch(`${gateway}/rest/v1/projects`, { headers: { apikey: anonKey, authorization: `Bearer ${anonKey}` } });
  expect({ status: rest.status, body: await rest.json() }).toEqual({ status: 401, body: { code: '42501', message: 'permission denied for table projects', details: null, hint: null } });
  const broadcast = (headers: Record<string, string>) =>
    fetch(`${gateway}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ messages: [{ topic: 'lobby', event: 'hello', payload: {} }] }),
    });
  expect((await broadcast({ apikey: anonKey })).status).toBe(202);
  expect((await broadcast({})).status).toBe(401);

  process.kill(-(dev.pid as number), 'SIGINT');
  const { code, signal } = await closed;
  // npm itself may end by the signal; what matters is that dev.ts stopped everything.
  expect(code === 0 || signal === 'SIGINT', `exit ${code} / ${signal}`).toBe(true);
  expect(output).toMatch(/^stopped$/m);
  expect(output).not.toMatch(/did not stop within/);
  expect(existsSync(join(stateDir, 'postgres', 'data', 'postmaster.pid'))).toBe(false);
}, 200_000);
