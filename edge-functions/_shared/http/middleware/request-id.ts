/**
 * Request ids (docs/functions.md: every response carries `X-Request-Id`), with Hono's own
 * `hono/request-id` middleware: it takes the caller's `X-Request-Id`, or makes one, sets
 * `c.get('requestId')` and puts it on the response.
 */
import type { MiddlewareHandler } from 'hono';
import { requestId as honoRequestId } from 'hono/request-id';

/** A caller's request id that is kept: 1-128 word characters, `.`, `:`, `=` or `-`. */
export const REQUEST_ID = /^[\w.:=-]{1,128}$/;

/**
 * The request-id middleware. Hono keeps an incoming id made of word characters, `=` and
 * `-`; ours also keeps `.` and `:` (trace ids such as `svc:1.2`), so an id Hono would
 * replace goes through the generator, which keeps it when it matches REQUEST_ID.
 *
 * @example
 * app.use('*', requestId());
 * app.get('/', (c) => c.text(c.get('requestId')));
 */
export function requestId(): MiddlewareHandler {
  return honoRequestId({
    headerName: 'X-Request-Id',
    limitLength: 128,
    generator: (c) => {
      const incoming = c.req.header('x-request-id');
      return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    },
  });
}
