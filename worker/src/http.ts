/**
 * The worker's operations endpoint: `GET /health` (JSON, 503 when a dependency is down)
 * and `GET /metrics` (Prometheus text).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  /** 200 only for `ok`; `starting` is a worker that waits for a usable Redis (the reason says why). */
  status: 'ok' | 'degraded' | 'starting' | 'stopping';
  /** Why the status is not `ok`. */
  reason?: string;
  [detail: string]: unknown;
}

/**
 * Starts the HTTP server (on 127.0.0.1 unless `host` says otherwise); resolves with it and
 * the port it listens on.
 *
 * @example
 * const { server, port } = await startOpsServer({ port: 54334, registry, health: async () => ({ status: 'ok' }) });
 */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  health: () => Promise<HealthReport>;
}): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json; charset=utf-8') => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (path !== '/health' && path !== '/metrics') {
      return send(404, JSON.stringify({ error: { code: 'not_found', message: `no route ${path}; try /health or /metrics` } }));
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(405, JSON.stringify({ error: { code: 'method_not_allowed', message: `${request.method} is not allowed on ${path}` } }));
    }
    const work =
      path === '/health'
        ? options.health().then((report) => send(report.status === 'ok' ? 200 : 503, JSON.stringify(report)))
        : options.registry.metrics().then((text) => send(200, text, options.registry.contentType));
    work.catch((error: unknown) =>
      send(503, JSON.stringify({ error: { code: 'unavailable', message: error instanceof Error ? error.message : String(error) } })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
