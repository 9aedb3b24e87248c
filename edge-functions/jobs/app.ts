/**
 * The `jobs` function: submit background jobs from the catalog, follow and list them,
 * cancel and retry them — all under Supabase's RLS.
 */
import { createFunctionApp } from '../_shared/http/app.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import { registerJobRoutes } from './jobs.ts';
import { registerSubmitRoute } from './submit.ts';

/** Name, title and description of the function. */
export const jobsFunction = {
  name: 'jobs',
  title: 'Tandem jobs',
  description: 'Background jobs of a project. Every route but /health, /openapi.json and /docs needs a user access token.',
};

/**
 * Builds the app (routes are relative to `/jobs`).
 *
 * @example
 * Deno.serve(createJobsApp(deps).fetch);
 */
export function createJobsApp(deps: FunctionDeps) {
  const app = createFunctionApp(deps, { listingRoutes: ['/'] });
  registerSubmitRoute(app, deps);
  registerJobRoutes(app, deps);
  return app;
}
