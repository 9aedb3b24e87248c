/**
 * `/projects` and `/projects/:id`: the cached listing, create, read, edit, delete.
 */
import { createRoute } from '@hono/zod-openapi';
import { explainNoRows } from '../_shared/db/denied.ts';
import { withRls } from '../../core/db/rls.ts';
import type { FunctionApp } from '../_shared/http/app.ts';
import { ApiError } from '../_shared/http/errors.ts';
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from '../_shared/http/schemas.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import type { ProjectListing } from './listing.ts';
import { memberIds, readProject } from './queries.ts';
import { CreateProject, Project, ProjectIdParam, ProjectList, UpdateProject } from './schemas.ts';

const tags = ['projects'];

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags,
  summary: "The caller's projects with their role and member count (cached; X-Cache: hit|miss)",
  security: bearerSecurity,
  responses: { 200: jsonResponse(ProjectList, 'The projects'), ...errorResponses() },
});

const createProjectRoute = createRoute({
  method: 'post',
  path: '/',
  tags,
  summary: 'Create a project; the caller becomes its owner',
  security: bearerSecurity,
  request: { body: jsonBody(CreateProject, 'The project') },
  responses: { 201: jsonResponse(Project, 'Created'), ...errorResponses(413, 415, 422) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  summary: 'One project',
  security: bearerSecurity,
  request: { params: ProjectIdParam },
  responses: { 200: jsonResponse(Project, 'The project'), ...errorResponses(404) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags,
  summary: 'Edit name or description (collaborators and owners)',
  security: bearerSecurity,
  request: { params: ProjectIdParam, body: jsonBody(UpdateProject, 'The fields to change') },
  responses: { 200: jsonResponse(Project, 'The edited project'), ...errorResponses(403, 404, 413, 415, 422) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  summary: 'Delete a project (owners)',
  security: bearerSecurity,
  request: { params: ProjectIdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(403, 404) },
});

/**
 * Registers the project routes. `/:id` routes come after every static route.
 *
 * @example
 * registerProjectRoutes(app, deps, listing);
 */
export function registerProjectRoutes(app: FunctionApp, deps: FunctionDeps, listing: ProjectListing): void {
  app.openapi(listRoute, async (c) => {
    const { body, cache } = await listing.get(c.get('user'), c.get('log'));
    // The body is an already serialized ProjectList (that is what the cache holds).
    return c.body(body, 200, { 'content-type': 'application/json; charset=utf-8', 'X-Cache': cache }) as never;
  });

  app.openapi(createProjectRoute, async (c) => {
    const input = c.req.valid('json');
    const user = c.get('user');
    const project = await withRls(await deps.db(), user.claims, async (tx) => {
      const [created] = await tx<{ id: string }[]>`
        insert into public.projects (name, description) values (${input.name}, ${input.description ?? ''}) returning id`;
      return readProject(tx, created!.id);
    });
    if (!project) throw new Error('a created project was not readable by its creator');
    await listing.invalidate([user.userId], c.get('log'));
    return c.json(project, 201);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const project = await withRls(await deps.db(), c.get('user').claims, (tx) => readProject(tx, id), { readOnly: true });
    if (!project) throw new ApiError('not_found', 'project not found');
    return c.json(project, 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const changes: Record<string, string> = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.description !== undefined) changes.description = patch.description;
    const { project, affected } = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const updated = await tx`update public.projects set ${tx(changes)} where id = ${id} returning id`;
      if (updated.length === 0) await explainNoRows(tx`select 1 from public.projects where id = ${id}`, 'project', 'edit');
      return { project: await readProject(tx, id), affected: await memberIds(tx, id) };
    });
    await listing.invalidate(affected, c.get('log'));
    return c.json(project!, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    const affected = await withRls(await deps.db(), c.get('user').claims, async (tx) => {
      const members = await memberIds(tx, id);
      const deleted = await tx`delete from public.projects where id = ${id} returning id`;
      if (deleted.length === 0) await explainNoRows(tx`select 1 from public.projects where id = ${id}`, 'project', 'delete');
      return members;
    });
    await listing.invalidate(affected, c.get('log'));
    return c.body(null, 204);
  });
}
