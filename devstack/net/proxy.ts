/**
 * A minimal HTTP reverse proxy for the devstack (the gateway and the functions server).
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * Forwards `req` to `host:port` (at `path`, default the same URL), adding the client to
 * `X-Forwarded-For` unless `appendForwardedFor` is false (a router that is not a proxy
 * hop of its own). `onUnavailable` answers when the upstream cannot be reached.
 *
 * @example
 * proxyHttp(req, res, { port: 54331 }, () => sendJson(res, 503, { error: { code: 'unavailable', message: 'down' } }));
 */
export function proxyHttp(
  req: IncomingMessage,
  res: ServerResponse,
  target: { port: number; host?: string; path?: string; appendForwardedFor?: boolean },
  onUnavailable: () => void,
): void {
  const forwardedFor = [req.headers['x-forwarded-for'], target.appendForwardedFor === false ? undefined : req.socket.remoteAddress]
    .filter(Boolean)
    .join(', ');
  const host = target.host ?? '127.0.0.1';
  const upstream = httpRequest(
    {
      host,
      port: target.port,
      method: req.method,
      path: target.path ?? req.url,
      headers: { ...req.headers, host: `${host}:${target.port}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    },
    (upstreamRes) => {
      const headers = { ...upstreamRes.headers };
      // Answered before the request body was read (413, 401): this connection cannot be
      // reused, so say so rather than leave the client to send its next request into it.
      if (!req.complete) headers.connection = 'close';
      res.writeHead(upstreamRes.statusCode ?? 502, headers);
      upstreamRes.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) onUnavailable();
    // An upstream may answer (413, 401) before reading the whole body and drop the socket:
    // the answer is complete, and destroying it would kill the client's keep-alive connection.
    else if (!res.writableEnded) res.destroy();
  });
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
}
