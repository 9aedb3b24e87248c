/**
 * zod schemas of the values Postgres hands back in JSON, shared by the row schemas
 * (core/jobs/row.ts) and the functions' request and response schemas. Plain zod with
 * `.meta()`: the functions' OpenAPI generator (@hono/zod-openapi) reads the metadata, and
 * nothing here needs it.
 */
import { z } from 'zod';
import { UUID_PATTERN } from './uuid.ts';

/**
 * A UUID in any letter case (Postgres accepts both), read as lower case — the way
 * Postgres renders it — so that an id from a request compares equal to one from a row.
 */
export const Uuid = z
  .string()
  .regex(UUID_PATTERN, 'must be a UUID')
  .toLowerCase()
  .meta({ format: 'uuid', example: '8f14e45f-ea3c-4a4e-9d0a-5a3b8f1c2d3e' });

/** A timestamp as Postgres (and PostgREST) renders it in JSON. */
export const Timestamp = z.string().meta({ format: 'date-time', example: '2026-11-25T17:03:37.123456+00:00' });

/**
 * A `json`/`jsonb` value, typed as `supabase gen types` types it (client/database.types.ts),
 * so that row schemas infer exactly the generated row types.
 */
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[];

/**
 * The schema of a Json value. Its `id` names it for the OpenAPI document: a recursive
 * schema without a name has no finite rendering there.
 */
export const Json: z.ZodType<Json> = z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(Json), z.record(z.string(), Json)]))
  .meta({ id: 'Json' });
