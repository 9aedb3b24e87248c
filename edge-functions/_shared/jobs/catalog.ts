/**
 * The job catalog: every job type Tandem knows. Adding a type is a schema file here and a
 * handler in worker/src/jobs/<type>.ts, registered in both catalogs.
 */
import type { z } from 'zod';
import { diagnosticSleep } from './diagnostic.sleep.ts';
import { projectExport } from './project.export.ts';
import { projectStats } from './project.stats.ts';
import type { JobType } from './types.ts';

export type { JobType } from './types.ts';

/** Every known job type, by name. */
export const jobCatalog: ReadonlyMap<string, JobType> = new Map(
  [projectExport, projectStats, diagnosticSleep].map((jobType) => [jobType.type, jobType]),
);

/** The names of the known job types, sorted. */
export const knownJobTypes: readonly string[] = [...jobCatalog.keys()].sort();

export type PayloadValidation =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; reason: 'unknown_type'; message: string; known: readonly string[] }
  | { ok: false; reason: 'invalid_payload'; message: string; issues: z.core.$ZodIssue[] };

/**
 * Validates a payload against its type's schema (used by the functions at submission and
 * by the worker again before running).
 *
 * @example
 * const checked = validateJobPayload('diagnostic.sleep', { ms: 10 });
 * if (checked.ok) checked.payload; // { ms: 10, fail_times: 0 }
 */
export function validateJobPayload(type: string, payload: unknown): PayloadValidation {
  const jobType = jobCatalog.get(type);
  if (!jobType) {
    return {
      ok: false,
      reason: 'unknown_type',
      message: `unknown job type "${type}"; known types: ${knownJobTypes.join(', ')}`,
      known: knownJobTypes,
    };
  }
  const parsed = jobType.payload.safeParse(payload ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length ? ` at ${first.path.join('.')}` : '';
    return {
      ok: false,
      reason: 'invalid_payload',
      message: `invalid payload for ${type}${where}: ${first?.message ?? 'does not match the schema'}`,
      issues: parsed.error.issues,
    };
  }
  return { ok: true, payload: parsed.data as Record<string, unknown> };
}
