/**
 * The `projects` function: workspaces, members and invitations over Supabase's RLS, with
 * the caller's project listing cached in Redis.
 */
import { createFunctionApp } from '../_shared/http/app.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import { registerInvitationRoutes, registerMyInvitationRoutes } from './invitations.ts';
import { createProjectListing } from './listing.ts';
import { registerMemberRoutes } from './members.ts';
import { registerProjectRoutes } from './projects.ts';

/** Name, title and description of the function. */
export const projectsFunction = {
  name: 'projects',
  title: 'Tandem projects',
  description: 'Workspaces, members and invitations. Every route but /health, /openapi.json and /docs needs a user access token.',
};

/**
 * Builds the app (routes are relative to `/projects`).
 *
 * @example
 * Deno.serve(createProjectsApp(deps).fetch);
 */
export function createProjectsApp(deps: FunctionDeps) {
  const app = createFunctionApp(deps, { listingRoutes: ['/'] });
  const listing = createProjectListing(deps);
  // Static routes first: /invitations/... must never be taken for /:id.
  registerMyInvitationRoutes(app, deps, listing);
  registerProjectRoutes(app, deps, listing);
  registerMemberRoutes(app, deps, listing);
  registerInvitationRoutes(app, deps);
  return app;
}
