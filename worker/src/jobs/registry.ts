/**
 * The worker's half of the job catalog: one handler per type of
 * core/jobs/catalog.ts. Adding a type: its schema file there, its
 * handler file here, one line in each catalog. Diagnostic handlers are registered apart,
 * so a worker with the diagnostic types off (TANDEM_DIAGNOSTIC_JOBS) holds none of them.
 */
import type { JobCatalog } from '../../../core/jobs/catalog.ts';
import { diagnosticSleepHandler } from './diagnostic.sleep.ts';
import { projectExportHandler } from './project.export.ts';
import { projectStatsHandler } from './project.stats.ts';
import type { JobHandler } from './types.ts';

type Handlers = ReadonlyMap<string, JobHandler<never>>;

const productHandlers: Handlers = new Map<string, JobHandler<never>>([
  ['project.export', projectExportHandler],
  ['project.stats', projectStatsHandler],
]);

const diagnosticHandlers: Handlers = new Map<string, JobHandler<never>>([
  ['diagnostic.sleep', diagnosticSleepHandler],
]);

/**
 * Handlers by job type, with the diagnostic ones only when `diagnostics` is on.
 *
 * @example
 * const handlers = jobHandlersFor(config.diagnosticJobs);
 */
export function jobHandlersFor(diagnostics: boolean): Handlers {
  return new Map([...productHandlers, ...(diagnostics ? diagnosticHandlers : [])]);
}

/**
 * Catalog types without a handler and handlers without a catalog type (both should be
 * empty; the worker refuses to start otherwise).
 *
 * @example
 * const { missingHandlers, unknownHandlers } = catalogMismatch(catalog, jobHandlersFor(catalog.diagnostics));
 */
export function catalogMismatch(catalog: JobCatalog, handlers: Handlers): { missingHandlers: string[]; unknownHandlers: string[] } {
  return {
    missingHandlers: [...catalog.types.keys()].filter((type) => !handlers.has(type)),
    unknownHandlers: [...handlers.keys()].filter((type) => !catalog.types.has(type)),
  };
}
