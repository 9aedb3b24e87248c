/**
 * Schema-cache reloading as PostgREST v16.2 does it (upstream PostgREST/postgrest
 * src/library/PostgREST/AppState/Reload.hs, listener): LISTEN on channel `pgrst`;
 * 'reload schema' or an empty payload reloads the schema cache, 'reload config' re-reads
 * the configuration, whose database part here is the role settings (the rest of the
 * stand-in's config comes from supabase/config.toml, read at start); anything else is
 * ignored. The platform's event triggers (sql/platform/04_postgrest.sql) send 'reload
 * schema' on DDL. After the listening connection is lost and regained the cache is
 * reloaded too, since notifications may have been missed. Reloads never overlap: one
 * that arrives during a reload runs once after it.
 */
import type postgres from 'postgres';
import type { SchemaCache } from './schema-cache.ts';

export const PGRST_CHANNEL = 'pgrst';

export interface SchemaReloader {
  /** Resolves when every reload asked for so far is done. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export interface SchemaReloadOptions {
  sql: postgres.Sql<Record<string, unknown>>;
  load(): Promise<SchemaCache>;
  current(): SchemaCache;
  replace(cache: SchemaCache): void;
  warn(message: string): void;
}

/**
 * Starts listening; resolves once the LISTEN is in place.
 *
 * @example
 * const reloader = await listenForSchemaReload({ sql, load: () => loadSchemaCache(sql, schemas, warn), current: () => cache, replace: (c) => { cache = c; }, warn });
 */
export async function listenForSchemaReload(options: SchemaReloadOptions): Promise<SchemaReloader> {
  let running: Promise<void> = Promise.resolve();
  const pending = new Set<'schema' | 'config'>();
  let listenedOnce = false;

  const runOne = async (kinds: Set<'schema' | 'config'>) => {
    try {
      const fresh = await options.load();
      const current = options.current();
      if (kinds.has('schema') && kinds.has('config')) options.replace(fresh);
      else if (kinds.has('schema')) options.replace({ ...fresh, roleSettings: current.roleSettings });
      else options.replace({ ...current, roleSettings: fresh.roleSettings });
    } catch (error) {
      // PostgREST keeps serving the old cache; the next NOTIFY tries again.
      options.warn(`schema cache reload failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const request = (kind: 'schema' | 'config') => {
    const queued = pending.size > 0;
    pending.add(kind);
    if (queued) return;
    running = running.then(async () => {
      const kinds = new Set(pending);
      pending.clear();
      await runOne(kinds);
    });
  };

  const listener = await options.sql.listen(
    PGRST_CHANNEL,
    (payload) => {
      if (payload === '' || payload === 'reload schema') request('schema');
      else if (payload === 'reload config') request('config');
    },
    () => {
      if (listenedOnce) request('schema');
      listenedOnce = true;
    },
  );
  return {
    settled: async () => {
      for (;;) {
        const now = running;
        await now;
        if (now === running && pending.size === 0) return;
      }
    },
    stop: () => listener.unlisten(),
  };
}
