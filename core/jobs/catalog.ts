/**
 * The job catalog: every job type Tandem knows. Adding a type is a schema file here and a
 * handler in worker/src/jobs/<type>.ts, registered in both catalogs.
 *
 * Diagnostic types (`diagnostic.sleep`, for checking the pipeline end to end) are opt-in:
 * `TANDEM_DIAGNOSTIC_JOBS=on` turns them on (the devstack, the tests and the benchmark do),
 * and a deployment has them off unless it sets it. The functions and the worker read the
 * same setting through diagnosticJobsFromEnv, so both catalogs hold the same types.
 */
import { z } from 'zod';
import { diagnosticSleep } from './diagnostic.sleep.ts';
import { projectExport } from './project.export.ts';
import { projectStats } from './project.stats.ts';
import type { JobType } from './types.ts';

export type { JobType } from './types.ts';

/** The setting that turns the diagnostic job types on: `on`, or `off` (the default). */
export const DIAGNOSTIC_JOBS_SETTING = 'TANDEM_DIAGNOSTIC_JOBS';

const productTypes: readonly JobType[] = [projectExport, projectStats];
const diagnosticTypes: readonly JobType[] = [diagnosticSleep];

/** The names of the types that are always on, and of the diagnostic ones, sorted. */
export const jobTypeNames = {
  product: productTypes.map((jobType) => jobType.type).sort(),
  diagnostic: diagnosticTypes.map((jobType) => jobType.type).sort(),
} as const;

/**
 * Reads TANDEM_DIAGNOSTIC_JOBS (`on` / `off`, any case; unset or empty is off). Throws on
 * anything else, so a typo fails at boot instead of silently turning the types off.
 *
 * @example
 * diagnosticJobsFromEnv((name) => Deno.env.get(name)); // false unless TANDEM_DIAGNOSTIC_JOBS=on
 */
export function diagnosticJobsFromEnv(get: (name: string) => string | undefined): boolean {
  const raw = get(DIAGNOSTIC_JOBS_SETTING);
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'off') return false;
  if (value === 'on') return true;
  throw new Error(`${DIAGNOSTIC_JOBS_SETTING} must be "on" or "off", got "${raw}"`);
}

export interface JobCatalog {
  /** The types on in this catalog, by name. */
  readonly types: ReadonlyMap<string, JobType>;
  /** Their names, sorted. */
  readonly known: readonly string[];
  /** Whether the diagnostic types are on. */
  readonly diagnostics: boolean;
}

/**
 * The catalog with the diagnostic types on or off.
 *
 * @example
 * const catalog = createJobCatalog({ diagnostics: diagnosticJobsFromEnv((n) => process.env[n]) });
 */
export function createJobCatalog(options: { diagnostics: boolean }): JobCatalog {
  const types = new Map(
    [...productTypes, ...(options.diagnostics ? diagnosticTypes : [])].map((jobType) => [jobType.type, jobType]),
  );
  return { types, known: [...types.keys()].sort(), diagnostics: options.diagnostics };
}

export type PayloadValidation =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; reason: 'unknown_type'; message: string; known: readonly string[] }
  | { ok: false; reason: 'invalid_payload'; message: string; issues: z.core.$ZodIssue[] };

/**
 * Validates a payload against its type's schema in a catalog (used by the functions at
 * submission and by the worker again before running). A diagnostic type while they are
 * off is an unknown type, with a message that says why.
 *
 * @example
 * const checked = validateJobPayload(createJobCatalog({ diagnostics: true }), 'diagnostic.sleep', { ms: 10 });
 * if (checked.ok) checked.payload; // { ms: 10, fail_times: 0 }
 */
export function validateJobPayload(catalog: JobCatalog, type: string, payload: unknown): PayloadValidation {
  const jobType = catalog.types.get(type);
  if (!jobType) {
    const known = `known types: ${catalog.known.join(', ')}`;
    const message = jobTypeNames.diagnostic.includes(type)
      ? `job type "${type}" is a diagnostic type, which is off here (${DIAGNOSTIC_JOBS_SETTING} is not "on"); ${known}`
      : `unknown job type "${type}"; ${known}`;
    return { ok: false, reason: 'unknown_type', message, known: catalog.known };
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

/** A JSON Schema object (draft 2020-12, the dialect of OpenAPI 3.1). */
export type JsonSchema = Record<string, unknown>;

/**
 * Each type's payload schema in a catalog as JSON Schema, as a client sends it (a field
 * with a default may be left out), by type name in sorted order. The `jobs` function's
 * OpenAPI document carries them (edge-functions/jobs/schemas.ts).
 *
 * @example
 * jobPayloadJsonSchemas(createJobCatalog({ diagnostics: false }))['project.stats']
 * // { type: 'object', properties: {}, additionalProperties: false }
 */
export function jobPayloadJsonSchemas(catalog: JobCatalog): Record<string, { description: string; payload: JsonSchema }> {
  const schemas: Record<string, { description: string; payload: JsonSchema }> = {};
  for (const name of catalog.known) {
    const jobType = catalog.types.get(name)!;
    // The document that embeds it names the dialect; `$schema` would repeat it in every payload.
    const { $schema: _dialect, ...payload } = z.toJSONSchema(jobType.payload, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
    schemas[name] = { description: jobType.description, payload };
  }
  return schemas;
}
