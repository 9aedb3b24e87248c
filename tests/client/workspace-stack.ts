/**
 * What `joinWorkspace` talks to, on one base URL as Supabase lays it out: the local Realtime
 * (in-process, /realtime/v1) and the real `projects` function on Deno (/functions/v1, for the
 * member list), behind the devstack gateway. Both verify tokens with the Realtime tests'
 * secret, so tests/realtime/helpers.ts's tokens and clients work against it.
 */
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { withUser } from '../../devstack/db/setup.ts';
import { startFunctions, type RunningFunctions } from '../../devstack/functions/serve.ts';
import { startGateway } from '../../devstack/gateway/gateway.ts';
import { functionEnv } from '../harness/function-env.ts';
import { runRedisUrl, uniquePrefix } from '../harness/redis.ts';
import { startRealtime, TEST_JWT_SECRET, type StartedRealtime } from '../realtime/helpers.ts';

export interface WorkspaceStack {
  realtime: StartedRealtime;
  functions: RunningFunctions;
  /** http://127.0.0.1:<port>: the base URL supabase-js needs. */
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * @example
 * const stack = await startWorkspaceStack();
 * const c = await connectClient(stack.baseUrl, await userToken(alice));
 * afterAll(() => stack.stop());
 */
export async function startWorkspaceStack(): Promise<WorkspaceStack> {
  const realtime = await startRealtime();
  const functions = await startFunctions({
    port: 0,
    functions: ['projects'],
    env: {
      ...functionEnv({
        databaseUrl: withUser(inject('databaseUrl'), 'postgres'),
        redisUrl: runRedisUrl(7),
        redisPrefix: uniquePrefix('workspace'),
        jwtSecret: TEST_JWT_SECRET,
        underLoad: true,
      }),
    },
  });
  const gateway = await startGateway({
    port: 0,
    functionsUrl: functions.url.replace(/\/functions\/v1$/, ''),
    auth: (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'no Auth in this stack' } }));
    },
    realtimeUpgrade: (req, socket, head) => realtime.server.handleUpgrade(req, socket, head),
    realtimeRequest: (req, res) => realtime.server.handleRequest(req, res),
    consoleConfig: { supabaseUrl: '', anonKey: '' },
  });
  const { port } = gateway.server.address() as AddressInfo;
  return {
    realtime,
    functions,
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      await gateway.close();
      await realtime.server.close();
      await functions.stop();
    },
  };
}
