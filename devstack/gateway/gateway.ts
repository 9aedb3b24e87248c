/**
 * The devstack gateway: one HTTP server with Supabase's URL layout, like the Kong gateway
 * of `supabase start` on 127.0.0.1:54321.
 *
 *   /functions/v1/<name>/...  → the Deno edge functions (proxied)
 *   /auth/v1/...              → local Auth (in-process handler)
 *   /realtime/v1/websocket    → local Realtime (WebSocket upgrade)
 *   /realtime/v1/api/...      → local Realtime's REST broadcast (in-process handler)
 *   /rest/v1/...              → the local Data API (in-process handler; devstack/rest/app.ts)
 *   /mail, /mail/api/...      → the local mail catcher (devstack/mail/catcher.ts)
 *   /                         → the browser console
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join, normalize } from 'node:path';
import { repoRoot } from '../db/setup.ts';
import { proxyHttp } from '../net/proxy.ts';
import { notBuiltYet } from '../rest/errors.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface GatewayOptions {
  host?: string;
  port: number;
  /** Base URL of the functions server (its paths start with /functions/v1/). */
  functionsUrl: string;
  auth: RequestHandler;
  realtimeUpgrade: UpgradeHandler;
  /** Realtime's REST API (`/realtime/v1/api/broadcast`), as the CLI's gateway routes it. */
  realtimeRequest: RequestHandler;
  /** The local Data API (`/rest/v1`); without it the gateway answers PGRST127 in PostgREST's shape. */
  dataApi?: RequestHandler;
  /** The mail catcher's page and API (`/mail`), like Mailpit under `supabase start`. */
  mail?: RequestHandler;
  /** Values the console page needs: the public URL and the anon key. */
  consoleConfig: { supabaseUrl: string; anonKey: string };
}

const consoleDir = join(repoRoot, 'devstack', 'console');
const supabaseUmd = join(repoRoot, 'node_modules', '@supabase', 'supabase-js', 'dist', 'umd', 'supabase.js');
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendFile(res: ServerResponse, path: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) {
    sendJson(res, 404, { error: { code: 'not_found', message: 'no such page' } });
    return;
  }
  res.writeHead(200, { 'content-type': contentTypes[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(path).pipe(res);
}

/**
 * Starts the gateway. A port already in use is an error naming the port.
 *
 * @example
 * const gateway = await startGateway({ port: 54321, functionsUrl, auth, realtimeUpgrade, realtimeRequest, consoleConfig });
 */
export async function startGateway(options: GatewayOptions): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const functionsTarget = new URL(options.functionsUrl);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/functions/v1/')) {
      return proxyHttp(req, res, { host: functionsTarget.hostname, port: Number(functionsTarget.port) }, () =>
        sendJson(res, 503, { error: { code: 'unavailable', message: 'the functions server is not reachable' } }),
      );
    }
    if (path.startsWith('/auth/v1/') || path === '/auth/v1') return options.auth(req, res);
    if (path.startsWith('/realtime/v1/api/') || path === '/realtime/v1/api') return options.realtimeRequest(req, res);
    if (options.mail && (path === '/mail' || path.startsWith('/mail/'))) return options.mail(req, res);
    if (path === '/rest/v1' || path.startsWith('/rest/v1/')) {
      if (options.dataApi) return options.dataApi(req, res);
      const error = notBuiltYet('The Data API (/rest/v1)');
      res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'proxy-status': `PostgREST; error=${error.code}` });
      return res.end(JSON.stringify(error.body));
    }
    if (path === '/' || path === '/index.html') return sendFile(res, join(consoleDir, 'index.html'));
    if (path === '/vendor/supabase.js') return sendFile(res, supabaseUmd);
    if (path === '/console/config.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
      return res.end(`window.TANDEM = ${JSON.stringify(options.consoleConfig)};\n`);
    }
    if (path.startsWith('/console/')) {
      const file = normalize(join(consoleDir, path.slice('/console/'.length)));
      if (!file.startsWith(consoleDir)) return sendJson(res, 404, { error: { code: 'not_found', message: 'no such page' } });
      return sendFile(res, file);
    }
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    return sendJson(res, 404, { error: { code: 'not_found', message: `no route for ${path}` } });
  });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').startsWith('/realtime/v1/')) return options.realtimeUpgrade(req, socket, head);
    socket.destroy();
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} is already in use on ${host}: stop what runs there (is another "npm run dev" or "supabase start" running?)`)
          : error,
      );
    });
    server.listen(options.port, host, () => resolve());
  });
  return {
    url: `http://${host}:${options.port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
