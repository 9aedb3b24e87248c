/**
 * Supabase entrypoint of the `projects` function (served at /functions/v1/projects).
 */
import { dependenciesFromEnv } from '../_shared/runtime.ts';
import { createProjectsApp, projectsFunction } from './app.ts';

const app = createProjectsApp(dependenciesFromEnv(projectsFunction, (name) => Deno.env.get(name)));

Deno.serve(app.fetch);
