/**
 * `/openapi.json` (OpenAPI 3.1, generated from the routes' zod schemas) and Swagger UI at
 * `/docs`, with its assets served from the swagger-ui-dist package (no CDN is reachable).
 * Deno only (it reads the assets with Deno.readFile).
 */
import { swaggerUI } from '@hono/swagger-ui';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { FunctionEnv } from './env.ts';
import type { FunctionDeps } from '../runtime.ts';
import { ApiError } from './errors.ts';

/** The swagger-ui-dist files the page loads, with their content types. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const assetCache = new Map<string, Promise<Uint8Array>>();

async function swaggerUiDistDir(): Promise<string> {
  // Loaded on first use only: the docs are not on any hot path.
  const module = (await import('swagger-ui-dist/absolute-path.js')) as { default: () => string };
  return module.default();
}

function readAsset(file: string): Promise<Uint8Array> {
  let cached = assetCache.get(file);
  if (!cached) {
    cached = swaggerUiDistDir().then((dir) => Deno.readFile(`${dir}/${file}`));
    cached.catch(() => assetCache.delete(file));
    assetCache.set(file, cached);
  }
  return cached;
}

/**
 * Registers `/openapi.json`, `/docs` and `/docs/assets/swagger-ui-dist/:file` (relative
 * URLs, so the page works behind any prefix such as `/functions/v1`).
 *
 * @example
 * registerDocs(app, deps);
 */
export function registerDocs(app: OpenAPIHono<FunctionEnv, {}, string>, deps: FunctionDeps): void {
  let document: unknown;
  app.get('/openapi.json', (c) => {
    // Generated on first request (every route is registered by then) and kept.
    document ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: deps.title, version: '1.0.0', description: deps.description },
      servers: [{ url: '/functions/v1', description: 'Supabase functions gateway' }],
    });
    return c.json(document);
  });
  app.get('/docs', swaggerUI({ url: 'openapi.json', baseUrl: 'docs/assets', title: deps.title, persistAuthorization: true }));
  app.get('/docs/assets/swagger-ui-dist/:file', async (c) => {
    const file = c.req.param('file');
    const contentType = ASSETS[file];
    if (!contentType) throw new ApiError('not_found', `no such asset: ${file}`);
    let bytes: Uint8Array;
    try {
      bytes = await readAsset(file);
    } catch {
      // e.g. a deployment that bundled the code but not swagger-ui-dist's files.
      throw new ApiError('not_found', `Swagger UI asset ${file} is not available in this deployment`);
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': contentType, 'cache-control': 'public, max-age=86400' });
  });
}
