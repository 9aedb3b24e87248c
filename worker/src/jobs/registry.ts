/**
 * The worker's half of the job catalog: one handler per type of
 * edge-functions/_shared/jobs/catalog.ts. Adding a type: its schema file there, its
 * handler file here, one line in each catalog.
 */
import { jobCatalog } from '../../../edge-functions/_shared/jobs/catalog.ts';
import { diagnosticSleepHandler } from './diagnostic.sleep.ts';
import { projectExportHandler } from './project.export.ts';
import { projectStatsHandler } from './project.stats.ts';
import type { JobHandler } from './types.ts';

/** Handlers by job type. */
export const jobHandlers: ReadonlyMap<string, JobHandler<never>> = new Map<string, JobHandler<never>>([
  ['diagnostic.sleep', diagnosticSleepHandler],
  ['project.export', projectExportHandler],
  ['project.stats', projectStatsHandler],
]);

/**
 * Catalog types without a handler and handlers without a catalog type (both should be
 * empty; the worker refuses to start otherwise).
 *
 * @example
 * const { missingHandlers, unknownHandlers } = catalogMismatch();
 */
export function catalogMismatch(): { missingHandlers: string[]; unknownHandlers: string[] } {
  return {
    missingHandlers: [...jobCatalog.keys()].filter((type) => !jobHandlers.has(type)),
    unknownHandlers: [...jobHandlers.keys()].filter((type) => !jobCatalog.has(type)),
  };
}
