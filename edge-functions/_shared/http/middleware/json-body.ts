/**
 * Request bodies: at most 256 KiB, and when present UTF-8 JSON — on every route that takes
 * a body or not, so a broken body is a 400 (or 413, 415) wherever it is sent.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors.ts';
import { isWrite } from '../request.ts';

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 256 * 1024;

const JSON_MEDIA_TYPE = /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i;

/**
 * The body check: 413 `payload_too_large` over 256 KiB (hono/body-limit), 415
 * `unsupported_media_type` for a body that is not `application/json` (or `+json`), 400
 * `invalid_request` for bytes that are not UTF-8 or text that is not JSON. An empty body
 * passes. It reads the body with `c.req.arrayBuffer()`; a route's validator then reads
 * the same bytes with `c.req.json()`, which HonoRequest answers from the body it has read,
 * so the request stream is consumed once.
 *
 * @example
 * app.use('*', checkJsonBody());
 * // POST with `{"name":` → 400 'malformed JSON: …'
 */
export function checkJsonBody(): MiddlewareHandler {
  const limited = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError('payload_too_large', `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
    },
  });
  return async (c, next) => {
    if (!isWrite(c.req.method) || !c.req.raw.body) return next();
    return limited(c, async () => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (bytes.byteLength === 0) return next();
      const contentType = c.req.header('content-type') ?? '';
      if (!JSON_MEDIA_TYPE.test(contentType)) {
        throw new ApiError('unsupported_media_type', `the body must be application/json (got ${contentType ? `"${contentType.slice(0, 100)}"` : 'no Content-Type'})`);
      }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new ApiError('invalid_request', 'the body is not valid UTF-8');
      }
      try {
        JSON.parse(text);
      } catch (error) {
        throw new ApiError('invalid_request', `malformed JSON: ${(error as Error).message}`);
      }
      await next();
    });
  };
}
