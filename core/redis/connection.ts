/**
 * How the functions and the worker reach Redis: one URL (`REDIS_URL`) says single node or
 * cluster, TLS or not, and the credentials; `createRedisClient` opens an ioredis `Redis`
 * or `Cluster` from it (BullMQ takes either).
 *
 *   redis://[user:password@]host[:port][/db]          one node (a managed Redis, a replica set's primary)
 *   rediss://...                                      the same over TLS
 *   redis+cluster://[user:password@]host[:port][,host[:port]...]   Redis Cluster (seed nodes; the rest are discovered)
 *   rediss+cluster://...                              Redis Cluster over TLS
 *
 * A TLS server whose certificate is signed by a private CA (Redis Cloud, a self-hosted
 * Redis with its own CA) is trusted through `REDIS_TLS_CA`, the CA's PEM text (a secret, not
 * a file: hosted functions have no files of their own); without it the runtime's public CAs
 * are used.
 *
 * ioredis is imported lazily, so a function that never touches Redis never loads it.
 */
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { RedisKeyLayout } from './keys.ts';

/** A client of either kind: every Tandem command works on both. */
export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  mode: 'single' | 'cluster';
  /** One node, or a cluster's seed nodes. */
  nodes: { host: string; port: number }[];
  tls: boolean;
  username?: string;
  password?: string;
  /** The logical database (single node only; a cluster has only 0). */
  db: number;
  /** REDIS_TLS_CA: PEM certificate(s) to trust instead of the runtime's public CAs (TLS only). */
  tlsCa?: string;
  /** The URL without its password, for logs and /health. */
  display: string;
}

const URL_PATTERN = /^(rediss?)(\+cluster)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/(\d*))?\/?(?:\?.*)?$/i;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * Parses REDIS_URL (and REDIS_TLS_CA, when given); throws an Error saying what is wrong.
 *
 * @example
 * parseRedisUrl('rediss+cluster://default:s3cret@node-1:6379,node-2:6379').mode // 'cluster'
 * parseRedisUrl('rediss://default:s3cret@redis.example:6380', { tlsCa: process.env.REDIS_TLS_CA }).tlsCa
 */
export function parseRedisUrl(url: string, options: { tlsCa?: string } = {}): RedisSettings {
  const match = URL_PATTERN.exec(url.trim());
  if (!match) {
    throw new Error('REDIS_URL must be redis://, rediss://, redis+cluster:// or rediss+cluster:// followed by host[:port]');
  }
  const [, scheme, cluster, userinfo, hostList, db] = match;
  const nodes = hostList!.split(',').filter(Boolean).map((entry) => {
    const hostPort = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(entry);
    const port = Number(hostPort?.[2] ?? 6379);
    if (!hostPort || port < 1 || port > 65_535) throw new Error(`REDIS_URL has a malformed host "${entry}" (host[:port])`);
    return { host: hostPort[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (nodes.length === 0) throw new Error('REDIS_URL names no host');
  const mode = cluster ? 'cluster' : 'single';
  if (mode === 'single' && nodes.length > 1) throw new Error('REDIS_URL lists several hosts: for Redis Cluster write redis+cluster://host:port,host:port');
  const database = db ? Number(db) : 0;
  if (mode === 'cluster' && database !== 0) throw new Error('REDIS_URL selects a database, which Redis Cluster does not have');
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1)) || undefined;
  }
  const tls = scheme!.toLowerCase() === 'rediss';
  const tlsCa = options.tlsCa?.trim() || undefined;
  if (tlsCa && !tls) throw new Error('REDIS_TLS_CA is set but REDIS_URL is not rediss:// or rediss+cluster:// (the CA is only used over TLS)');
  if (tlsCa && !PEM_CERTIFICATE.test(tlsCa)) throw new Error('REDIS_TLS_CA must be PEM text (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), not a file name');
  const credentials = username || password ? `${username ?? ''}${password ? ':***' : ''}@` : '';
  return {
    mode,
    nodes,
    tls,
    username,
    password,
    db: database,
    ...(tlsCa ? { tlsCa } : {}),
    display: `${scheme!.toLowerCase()}${cluster ? '+cluster' : ''}://${credentials}${hostList}${database ? `/${database}` : ''}`,
  };
}

/**
 * Opens a client. `options` are ioredis's per-connection options (timeouts, retries,
 * offline queue); for a cluster they apply to every node's connection, and
 * `enableOfflineQueue` and `retryStrategy` also to the cluster itself.
 *
 * @example
 * const redis = await createRedisClient(parseRedisUrl(process.env.REDIS_URL!), { maxRetriesPerRequest: null });
 */
export async function createRedisClient(settings: RedisSettings, options: RedisOptions = {}, clusterOptions: ClusterOptions = {}): Promise<RedisClient> {
  const { Redis, Cluster } = await import('ioredis');
  const auth = { username: settings.username, password: settings.password };
  const tls = settings.tls ? { tls: settings.tlsCa ? { ca: settings.tlsCa } : {} } : {};
  if (settings.mode === 'single') {
    const node = settings.nodes[0]!;
    return new Redis({ host: node.host, port: node.port, db: settings.db, ...auth, ...tls, ...options });
  }
  const { retryStrategy, enableOfflineQueue, ...perNode } = options;
  return new Cluster(settings.nodes as ClusterNode[], {
    enableOfflineQueue: enableOfflineQueue ?? true,
    clusterRetryStrategy: retryStrategy ? (times) => retryStrategy(times) ?? null : undefined,
    // A failover moves the slot: retry a command that met it (a MOVED, a TRYAGAIN, a
    // CLUSTERDOWN) shortly, and refresh the slot map rather than wait for it.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2_000,
    // Managed clusters over TLS announce their nodes by name, and the certificates are for
    // those names: keep them rather than resolve them to addresses (ioredis's advice for
    // AWS ElastiCache).
    ...(settings.tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
    redisOptions: { ...auth, ...tls, ...perNode },
    ...clusterOptions,
  });
}

/** What `inspectRedis` found: problems make Redis unusable for Tandem; warnings do not. */
export interface RedisInspection {
  problems: string[];
  warnings: string[];
  /** maxmemory-policy of every node inspected. */
  evictionPolicies: string[];
}

const PROBE_SCRIPT = `return redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3])`;

/**
 * Checks what Tandem needs of a Redis (once, at start): the URL's mode matches the
 * server's (a cluster node reached as a single node answers MOVED for most keys), a
 * script over several of Tandem's keys runs (a prefix without a shared slot would be
 * CROSSSLOT), and `maxmemory-policy` is `noeviction` on every primary (BullMQ's requirement:
 * an evicted queue key loses or corrupts jobs). INFO is used, not CONFIG, because managed
 * services often disable CONFIG.
 *
 * @example
 * const { problems, warnings } = await inspectRedis(redis, settings, keys);
 */
export async function inspectRedis(redis: RedisClient, settings: RedisSettings, keys: RedisKeyLayout): Promise<RedisInspection> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const nodes: Redis[] = 'nodes' in redis && typeof redis.nodes === 'function' && settings.mode === 'cluster' ? (redis as Cluster).nodes('master') : [redis as Redis];
  const infos = await Promise.all(nodes.map((node) => node.info()));
  const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const evictionPolicies = infos.map((info) => field(info, 'maxmemory_policy') ?? 'unknown');
  const clusterEnabled = infos.some((info) => field(info, 'cluster_enabled') === '1');
  if (settings.mode === 'single' && clusterEnabled) {
    problems.push('REDIS_URL reaches a Redis Cluster node as a single node (commands answer MOVED): write it as redis+cluster:// or rediss+cluster://');
  }
  if (settings.mode === 'cluster' && !clusterEnabled) {
    problems.push('REDIS_URL says redis+cluster:// but the server is not a cluster (cluster_enabled:0): write it as redis:// or rediss://');
  }
  const bad = [...new Set(evictionPolicies.filter((policy) => policy !== 'noeviction'))];
  if (bad.length > 0) {
    warnings.push(`maxmemory-policy is ${bad.join(', ')}, BullMQ needs noeviction: under memory pressure Redis may evict queue keys (the sweeper re-enqueues lost jobs from Postgres, but set maxmemory-policy noeviction)`);
  }
  if (problems.length === 0) {
    try {
      await redis.eval(PROBE_SCRIPT, 3, keys.cacheEpoch, keys.cacheVersion('probe'), `${keys.bullPrefix}:probe`);
    } catch (error) {
      problems.push(`a script over Tandem's keys fails: ${(error as Error).message}`);
    }
  }
  return { problems, warnings, evictionPolicies };
}
