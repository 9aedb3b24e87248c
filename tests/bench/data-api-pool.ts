/**
 * The pool options of the Data API in the devstack (devstack/dev.ts), shared by the bench's
 * Data API process (data-api-server.ts) and the statement it is compared with
 * (data-api.ts), so that both sides talk to Postgres alike. A module of its own so that the
 * server process loads nothing of the load generator.
 */
import type postgres from 'postgres';

export const DATA_API_POOL_OPTIONS = { max: 4, onnotice: () => undefined, prepare: false } satisfies postgres.Options<Record<string, postgres.PostgresType>>;
