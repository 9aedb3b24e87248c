/**
 * Supabase entrypoint of the `jobs` function (served at /functions/v1/jobs).
 */
import { dependenciesFromEnv } from '../_shared/runtime.ts';
import { createJobsApp, jobsFunction } from './app.ts';

const app = createJobsApp(dependenciesFromEnv(jobsFunction, (name) => Deno.env.get(name)));

Deno.serve(app.fetch);
