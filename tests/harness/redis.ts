/**
 * The run's Redis for the suites, single node or cluster alike (global-setup.ts). A cluster
 * has only database 0, so suites keep apart by key prefix (TANDEM_REDIS_PREFIX); on a
 * single node a suite may still take a database of its own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { inject } from 'vitest';
import { createRedisClient, parseRedisUrl, type RedisClient } from '../../core/redis/connection.ts';
import { findFreePort } from '../../devstack/net/ports.ts';

/**
 * The run's Redis URL; on a single node, with `database` selected.
 *
 * @example
 * const url = runRedisUrl(6); // redis://127.0.0.1:<port>/6, or the cluster's URL
 */
export function runRedisUrl(database?: number, url: string = inject('redisUrl')): string {
  if (parseRedisUrl(url).mode === 'cluster' || database === undefined) return url;
  return `${url.replace(/\/\d*$/, '')}/${database}`;
}

/**
 * A fresh hash-tagged prefix, so that a suite's keys (queue, cache epoch, rate limits)
 * are its own.
 *
 * @example
 * const prefix = uniquePrefix('fn-jobs'); // '{fn-jobs-1a2b3c4d}'
 */
export function uniquePrefix(name: string): string {
  return `{${name}-${randomUUID().slice(0, 8)}}`;
}

/**
 * An ioredis client (Redis or Cluster, as the URL says) for a test to look at or change
 * keys; `disconnect()` it when done.
 *
 * @example
 * const redis = await openTestRedis(runRedisUrl());
 */
export async function openTestRedis(url: string): Promise<RedisClient> {
  return createRedisClient(parseRedisUrl(url));
}

/** A throwaway CA and a server certificate it signed, as PEM text. */
export interface TestCertificates {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A fresh CA and a certificate for `localhost` / 127.0.0.1 signed by it, made with the
 * `openssl` CLI in a temporary directory (removed again).
 *
 * @example
 * const { ca, cert, key } = makeTestCertificates();
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=Tandem test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TlsRedisServer {
  /** `rediss://127.0.0.1:<port>` (no credentials). */
  readonly url: string;
  readonly port: number;
  /** The CA that signed the server's certificate (what REDIS_TLS_CA takes). */
  readonly ca: string;
  stop(): Promise<void>;
}

/**
 * A `redis-server` that speaks only TLS (`--port 0 --tls-port`), with a certificate from a
 * fresh private CA, as a managed Redis with its own CA does; with `password`, the
 * `default` user needs it (`--requirepass`).
 *
 * @example
 * const server = await startTlsRedisServer({ password: 's3cret' });
 * // REDIS_URL=rediss://default:s3cret@127.0.0.1:<port>, REDIS_TLS_CA=server.ca
 * await server.stop();
 */
export async function startTlsRedisServer(options: { password?: string } = {}): Promise<TlsRedisServer> {
  const certificates = makeTestCertificates();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-redis-'));
  for (const [name, pem] of Object.entries(certificates)) writeFileSync(join(dir, `${name}.pem`), pem, { mode: 0o600 });
  const port = await findFreePort();
  const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
  args.push('--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'ca.pem'));
  // Clients are not asked for certificates of their own (managed services do not either).
  args.push('--tls-auth-clients', 'no');
  if (options.password) args.push('--requirepass', options.password);
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) await new Promise<void>((resolve) => child.once('exit', () => resolve()).kill('SIGTERM'));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    // Any RESP answer (PONG, or NOAUTH with a password) over a verified TLS session: up.
    const answered = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: certificates.ca }, () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(/^[+-]/.test(data.toString()));
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`TLS redis-server on port ${port} did not answer (does this redis-server have TLS? redis-server --tls-port)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `rediss://127.0.0.1:${port}`, port, ca: certificates.ca, stop };
}
