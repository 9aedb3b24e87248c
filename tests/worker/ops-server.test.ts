/**
 * Where the worker's /health and /metrics listen: loopback unless configured otherwise
 * (TANDEM_WORKER_METRICS_HOST; docker-compose.yml sets 0.0.0.0 inside the container).
 */
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../worker/src/config.ts';
import { startOpsServer } from '../../worker/src/http.ts';

const health = async () => ({ status: 'ok' as const });

async function boundAddress(host: string | undefined): Promise<string> {
  const { server, port } = await startOpsServer({ port: 0, host, registry: new Registry(), health });
  try {
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    return (server.address() as AddressInfo).address;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('ops server address', () => {
  it('binds 127.0.0.1 by default, in the configuration and in the server', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://x@h/db' });
    expect(config.metricsHost).toBe('127.0.0.1');
    expect(await boundAddress(undefined)).toBe('127.0.0.1');
  });

  it('binds all interfaces only when configured to', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://x@h/db', TANDEM_WORKER_METRICS_HOST: '0.0.0.0' });
    expect(await boundAddress(config.metricsHost)).toBe('0.0.0.0');
  });
});
