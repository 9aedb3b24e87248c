/**
 * The local mail catcher, like the Mailpit of `supabase start`: an SMTP server that keeps
 * every message it receives in memory, a page listing them and a JSON API the tests read.
 * The devstack serves the page and the API behind its gateway at /mail.
 *
 *   GET    /mail                          the page
 *   GET    /mail/api/messages[?to=addr]   messages, newest first: {id, from, to, subject, text, html, date}
 *   GET    /mail/api/messages/<id>        one message
 *   DELETE /mail/api/messages             forget every message
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMessage {
  id: string;
  from: string;
  /** Recipient addresses, lowercased. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  date: string;
}

export interface MailCatcher {
  /** SMTP port on 127.0.0.1. */
  readonly smtpPort: number;
  /** Handles `/mail` and `/mail/api/...`. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  messages(to?: string): CaughtMessage[];
  close(): Promise<void>;
}

const MAX_MESSAGES = 1000;
const MAX_MESSAGE_BYTES = 10 << 20;

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.flatMap((entry) => entry.value.map((address) => (address.address ?? '').toLowerCase())).filter(Boolean);
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tandem mail</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}li{margin:.5rem 0;cursor:pointer}
iframe{width:100%;height:28rem;border:1px solid #ccc}.meta{color:#666}</style></head>
<body><h1>Local mail</h1><p class="meta">Every message local Auth sends lands here. <button id="clear">Delete all</button></p>
<ul id="list"></ul><div id="view"></div>
<script>
const list = document.getElementById('list'), view = document.getElementById('view');
async function load() {
  const messages = await (await fetch('api/messages')).json();
  list.replaceChildren(...messages.map((m) => {
    const li = document.createElement('li');
    li.textContent = m.date + '  ' + m.to.join(', ') + '  ' + m.subject;
    li.onclick = () => { const f = document.createElement('iframe'); f.sandbox = ''; f.srcdoc = m.html || m.text; view.replaceChildren(f); };
    return li;
  }));
}
document.getElementById('clear').onclick = async () => { await fetch('api/messages', { method: 'DELETE' }); load(); };
load(); setInterval(load, 3000);
</script></body></html>`;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Starts the catcher's SMTP server on 127.0.0.1 (`smtpPort` 0 = a free port).
 *
 * @example
 * const mail = await startMailCatcher({ smtpPort: 0 });
 * // nodemailer.createTransport({ host: '127.0.0.1', port: mail.smtpPort }) ...
 * mail.messages('ada@example.com')[0]?.subject;
 */
export async function startMailCatcher(options: { smtpPort?: number } = {}): Promise<MailCatcher> {
  const stored: CaughtMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          stored.unshift({
            id: randomUUID(),
            from: addresses(parsed.from)[0] ?? '',
            to: addresses(parsed.to),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            date: (parsed.date ?? new Date()).toISOString(),
          });
          stored.splice(MAX_MESSAGES);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.smtpPort ?? 0, '127.0.0.1', () => resolve());
  });
  const smtpPort = (server.server.address() as AddressInfo).port;

  const messages = (to?: string) => (to ? stored.filter((m) => m.to.includes(to.toLowerCase())) : [...stored]);

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://mail');
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/mail' && req.method === 'GET') {
      // The page's relative links resolve under /mail/.
      if (!url.pathname.endsWith('/')) {
        res.writeHead(308, { location: '/mail/' });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      return void res.end(PAGE);
    }
    if (path === '/mail/api/messages') {
      if (req.method === 'GET') return json(res, 200, messages(url.searchParams.get('to') ?? undefined));
      if (req.method === 'DELETE') {
        stored.splice(0);
        res.writeHead(204);
        return void res.end();
      }
      return json(res, 405, { error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` } });
    }
    const one = /^\/mail\/api\/messages\/([0-9a-f-]{36})$/.exec(path);
    if (one && req.method === 'GET') {
      const message = stored.find((m) => m.id === one[1]);
      return message ? json(res, 200, message) : json(res, 404, { error: { code: 'not_found', message: 'no such message' } });
    }
    json(res, 404, { error: { code: 'not_found', message: `no route for ${path}` } });
  }

  return {
    smtpPort,
    handler,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
