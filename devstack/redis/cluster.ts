/**
 * A local Redis Cluster of `redis-server` child processes (three primaries, no replicas),
 * for tests and for trying Tandem on a cluster without one: each node on a free port with
 * a free cluster-bus port, append-only persistence and its own nodes.conf, so that a node
 * stopped and started again comes back with its data and its slots. Joined with
 * `redis-cli --cluster create`.
 *
 * `cluster-require-full-coverage no`: while one node is down the others keep serving
 * their slots (Tandem's keys are all in one slot: core/redis/keys.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { findFreePort } from '../net/ports.ts';
import { hasRedisServer, waitForPing } from './server.ts';

const run = promisify(execFile);

export interface ClusterNode {
  readonly port: number;
  /** Stops the node (SIGTERM: it flushes its append-only file) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data, and waits until the cluster is whole. */
  start(): Promise<void>;
}

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:<port>,...` (core/redis/connection.ts). */
  readonly url: string;
  readonly nodes: readonly ClusterNode[];
  /** The node that serves `key`'s slot now. */
  nodeFor(key: string): Promise<ClusterNode>;
  /** Resolves once every node reports `cluster_state:ok`. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and deletes their data (unless the directory was given). */
  stop(): Promise<void>;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

/**
 * Starts a cluster.
 *
 * @example
 * const cluster = await startRedisCluster();
 * // REDIS_URL=cluster.url; (await cluster.nodeFor('{tandem}:x')).stop() ...
 * await cluster.stop();
 */
export async function startRedisCluster(options: { size?: number; dir?: string; nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const size = options.size ?? 3;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tandem-redis-cluster-'));
  const avoid = new Set<number>();
  const nodes: (ClusterNode & { child?: ChildProcess })[] = [];
  let cluster: RedisCluster;
  for (let i = 0; i < size; i++) {
    const port = await findFreePort({ avoid });
    avoid.add(port);
    const busPort = await findFreePort({ avoid });
    avoid.add(busPort);
    const nodeDir = join(dir, String(i));
    mkdirSync(nodeDir, { recursive: true });
    const args = [
      '--port', String(port),
      '--cluster-port', String(busPort),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(nodeDir, 'nodes.conf'),
      '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2000),
      '--cluster-require-full-coverage', 'no',
      '--dir', nodeDir,
      '--appendonly', 'yes',
      '--save', '',
      '--maxmemory-policy', 'noeviction',
    ];
    const node: ClusterNode & { child?: ChildProcess } = {
      port,
      async stop() {
        const running = node.child;
        node.child = undefined;
        if (!running || running.exitCode !== null) return;
        await new Promise<void>((resolve) => {
          running.once('exit', () => resolve());
          running.kill('SIGTERM');
        });
      },
      async start() {
        node.child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
        await waitForPing(port);
        await cluster.waitHealthy();
      },
    };
    node.child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
    nodes.push(node);
  }
  const stopAll = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  };
  cluster = {
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    nodes,
    async nodeFor(key) {
      const slot = Number((await cli(nodes[0]!.port, 'cluster', 'keyslot', key)).trim());
      for (const node of nodes) {
        if (!node.child) continue;
        // `cluster nodes`: the line flagged `myself` lists the node's slot ranges from its 9th field on.
        const myself = (await cli(node.port, 'cluster', 'nodes')).split('\n').find((line) => line.includes('myself'));
        const ranges = myself?.trim().split(' ').slice(8) ?? [];
        const serves = ranges.some((range) => {
          const [from, to = from] = range.split('-').map(Number);
          return slot >= from! && slot <= to!;
        });
        if (serves) return node;
      }
      throw new Error(`no running node serves slot ${slot}`);
    },
    async waitHealthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          nodes.filter((node) => node.child).map((node) => cli(node.port, 'cluster', 'info').then((info) => /cluster_state:ok/.test(info), () => false)),
        );
        if (states.length === nodes.length && states.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error('the Redis Cluster did not become healthy');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop: stopAll,
  };
  try {
    await Promise.all(nodes.map((node) => waitForPing(node.port)));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await cluster.waitHealthy();
  } catch (error) {
    await stopAll();
    throw error;
  }
  return cluster;
}

/**
 * `npx tsx devstack/redis/cluster.ts`: a local 3-node cluster until Ctrl-C, for trying
 * Tandem on a cluster: `REDIS_URL=<the printed URL> npm run dev` in another terminal.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cluster = await startRedisCluster();
  process.stdout.write(`REDIS_URL=${cluster.url}\n(Ctrl-C stops the cluster and deletes its data)\n`);
  const stop = () => void cluster.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
