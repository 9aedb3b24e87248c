/**
 * The worker's Prometheus metrics, on a registry of its own (several workers can run in
 * one process: tests, the devstack, the benchmark).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  /** jobs rows by status, read from Postgres at scrape time. */
  jobsByStatus: Gauge<'status'>;
  /** BullMQ jobs by state, read from Redis at scrape time. */
  queueJobs: Gauge<'state'>;
  processed: Counter<'type' | 'outcome'>;
  attemptsFailed: Counter<'type'>;
  retried: Counter<'type'>;
  duration: Histogram<'type' | 'outcome'>;
  transitions: Counter<'transition' | 'applied'>;
  writeBatchSize: Histogram<'transition'>;
  sweeper: Counter<'action'>;
  dispatcher: Counter<'op' | 'action'>;
  invalidations: Counter<'kind'>;
  listenReconnects: Counter<'channel'>;
}

/**
 * Creates the metrics; `collect` callbacks fill the by-state gauges at scrape time.
 *
 * @example
 * const metrics = createMetrics({ defaultMetrics: true });
 * metrics.processed.inc({ type: 'diagnostic.sleep', outcome: 'succeeded' });
 * await metrics.registry.metrics(); // Prometheus text
 */
export function createMetrics(
  options: {
    defaultMetrics?: boolean;
    collectJobsByStatus?: () => Promise<Record<string, number>>;
    collectQueueJobs?: () => Promise<Record<string, number>>;
  } = {},
): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const fill = async (gauge: Gauge<string>, label: string, read?: () => Promise<Record<string, number>>) => {
    if (!read) return;
    try {
      const counts = await read();
      gauge.reset();
      for (const [key, value] of Object.entries(counts)) gauge.set({ [label]: key }, value);
    } catch {
      // A scrape during an outage shows the last values; /health reports the outage.
    }
  };
  return {
    registry,
    jobsByStatus: new Gauge({
      name: 'tandem_jobs',
      help: 'Jobs rows in Postgres by status.',
      labelNames: ['status'],
      registers,
      async collect() {
        await fill(this, 'status', options.collectJobsByStatus);
      },
    }),
    queueJobs: new Gauge({
      name: 'tandem_worker_queue_jobs',
      help: 'BullMQ jobs of the tandem-jobs queue by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        await fill(this, 'state', options.collectQueueJobs);
      },
    }),
    processed: new Counter({
      name: 'tandem_worker_jobs_processed_total',
      help: 'Runs that ended, by type and outcome (succeeded, failed, cancelled).',
      labelNames: ['type', 'outcome'],
      registers,
    }),
    attemptsFailed: new Counter({
      name: 'tandem_worker_attempts_failed_total',
      help: 'Attempts that threw, by type (retried or final).',
      labelNames: ['type'],
      registers,
    }),
    retried: new Counter({
      name: 'tandem_worker_jobs_retried_total',
      help: 'Attempts scheduled again after a failure (backoff), by type.',
      labelNames: ['type'],
      registers,
    }),
    duration: new Histogram({
      name: 'tandem_worker_attempt_duration_seconds',
      help: 'Duration of one attempt (handler plus status writes), by type and outcome.',
      labelNames: ['type', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    transitions: new Counter({
      name: 'tandem_worker_transitions_total',
      help: 'Status transitions requested, by transition and whether the row moved.',
      labelNames: ['transition', 'applied'],
      registers,
    }),
    writeBatchSize: new Histogram({
      name: 'tandem_worker_status_write_batch_size',
      help: 'Rows per status-writing statement.',
      labelNames: ['transition'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers,
    }),
    sweeper: new Counter({
      name: 'tandem_worker_sweeper_actions_total',
      help: 'Sweeper actions: runs, enqueued (missing from BullMQ), requeued (stale BullMQ job), cancelled, retention deletes.',
      labelNames: ['action'],
      registers,
    }),
    dispatcher: new Counter({
      name: 'tandem_worker_dispatcher_actions_total',
      help: 'Dispatcher actions on tandem_jobs notifications, by op and action.',
      labelNames: ['op', 'action'],
      registers,
    }),
    invalidations: new Counter({
      name: 'tandem_worker_cache_invalidations_total',
      help: 'Listing cache invalidations: users (per user id) and epoch bumps.',
      labelNames: ['kind'],
      registers,
    }),
    listenReconnects: new Counter({
      name: 'tandem_worker_listen_connects_total',
      help: 'LISTEN sessions established (the first and every reconnect), by channel.',
      labelNames: ['channel'],
      registers,
    }),
  };
}
