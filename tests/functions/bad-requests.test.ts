/**
 * A corpus of bad requests against both functions: malformed and truncated JSON, wrong
 * types, missing fields, oversized bodies, wrong content types, unicode and NUL
 * characters, invalid UUIDs, broken percent-encoding, bad query parameters, wrong methods
 * and every kind of bad token. Each gets its 4xx in the error shape — never a 5xx — and
 * SQL-looking text is stored verbatim where it is valid.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisUrl } from '../harness/redis.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';
import { call, JWT_SECRET, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

let fns: TestFunctions;
let sql: Sql;
let owner: TestUser;
let token: string;
let projectId: string;
let jobId: string;

interface BadRequest {
  name: string;
  method: string;
  path: string;
  status: number;
  code: string;
  body?: unknown;
  raw?: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Authorization header; default `Bearer <a valid owner token>`; null sends none. */
  authorization?: string | null;
  /** What the error message must say, when it matters. */
  message?: RegExp;
}

const b64url = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

beforeAll(async () => {
  sql = adminSql();
  fns = await startTestFunctions({ redisUrl: runRedisUrl(7), applicationName: 'fn-bad-requests' });
  owner = await createUser(sql);
  token = await tokenFor(owner);
  const project = await call(fns, 'POST', '/projects', { token, body: { name: 'Corpus' } });
  projectId = project.body.id;
  const job = await call(fns, 'POST', '/jobs', { token, body: { project_id: projectId, type: 'project.stats' } });
  jobId = job.body.id;
});

afterAll(async () => {
  await fns?.stop();
  await sql?.end();
});

async function badTokens(): Promise<[string, string][]> {
  const claims = owner.claims;
  const secret = new TextEncoder().encode(JWT_SECRET);
  const sign = (payload: Record<string, unknown>, alg = 'HS256', key: Uint8Array = secret) =>
    new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
  const now = Math.floor(Date.now() / 1000);
  const valid = await tokenFor(owner);
  const [header, , signature] = valid.split('.');
  const { aud: _aud, ...withoutAudience } = claims;
  const { sub: _sub, ...withoutSubject } = claims;
  return [
    ['no Authorization header', ''],
    ['Bearer without token', 'Bearer'],
    ['Bearer with spaces only', 'Bearer    '],
    ['Basic credentials', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['Token scheme', `Token ${valid}`],
    ['garbage', 'Bearer garbage'],
    ['two parts', 'Bearer abc.def'],
    ['four parts', `Bearer ${valid}.extra`],
    ['token followed by junk', `Bearer ${valid} junk`],
    ['non-base64 header', 'Bearer !!!.???.###'],
    ['header is not JSON', `Bearer ${b64url('not json')}.${b64url('{}')}.sig`],
    ['alg none (unsigned)', `Bearer ${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify({ ...claims, exp: now + 3600 }))}.`],
    ['alg none with a signature', `Bearer ${b64url(JSON.stringify({ alg: 'none' }))}.${b64url(JSON.stringify({ ...claims, exp: now + 3600 }))}.${signature}`],
    ['forged (another secret)', `Bearer ${await sign({ ...claims, exp: now + 3600 }, 'HS256', new TextEncoder().encode('another-secret-another-secret-another-secret'))}`],
    ['tampered payload', `Bearer ${header}.${b64url(JSON.stringify({ ...claims, sub: crypto.randomUUID(), exp: now + 3600 }))}.${signature}`],
    ['expired', `Bearer ${await tokenFor(owner, { expiresIn: now - 60 })}`],
    ['not yet valid (nbf)', `Bearer ${await tokenFor(owner, { notBefore: now + 3600 })}`],
    ['wrong audience', `Bearer ${await sign({ ...claims, aud: 'anon', exp: now + 3600 })}`],
    ['no audience', `Bearer ${await sign({ ...withoutAudience, exp: now + 3600 })}`],
    ['anon key', `Bearer ${await sign({ iss: 'supabase', role: 'anon', exp: now + 3600 })}`],
    ['anon role with authenticated audience', `Bearer ${await sign({ ...claims, role: 'anon', exp: now + 3600 })}`],
    ['service role', `Bearer ${await sign({ iss: 'supabase', role: 'service_role', aud: 'authenticated', exp: now + 3600 })}`],
    ['no subject', `Bearer ${await sign({ ...withoutSubject, exp: now + 3600 })}`],
    ['subject is not a uuid', `Bearer ${await sign({ ...claims, sub: "' OR 1=1 --", exp: now + 3600 })}`],
    ['no expiry', `Bearer ${await sign({ ...claims })}`],
    ['HS512', `Bearer ${await sign({ ...claims, exp: now + 3600 }, 'HS512')}`],
    ['RS256 header without a JWKS', `Bearer ${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify({ ...claims, exp: now + 3600 }))}.${signature}`],
    ['payload is not an object', `Bearer ${header}.${b64url('"just a string"')}.${signature}`],
    ['very long token', `Bearer ${'a'.repeat(6000)}.${'b'.repeat(100)}.c`],
    ['publishable API key', 'Bearer sb_publishable_abcdefghijklmnopqrstuvwxyz'],
  ];
}

function corpus(tokens: [string, string][]): BadRequest[] {
  const cases: BadRequest[] = [];
  const add = (c: BadRequest) => cases.push(c);
  const projects = (path = '') => `/projects${path}`;

  for (const [name, authorization] of tokens) {
    add({ name: `token: ${name} (listing)`, method: 'GET', path: projects(), status: 401, code: 'unauthorized', authorization: authorization || null });
    add({ name: `token: ${name} (submit)`, method: 'POST', path: '/jobs', body: { project_id: projectId, type: 'project.stats' }, status: 401, code: 'unauthorized', authorization: authorization || null });
  }
  add({ name: 'token: apikey header only', method: 'GET', path: projects(), status: 401, code: 'unauthorized', authorization: null, headers: { apikey: token } });

  const malformed = ['{', '{"name":', '{"name":"x"', '{"name":"x",}', "{'name':'x'}", 'nul', '[', '{"name": NaN}', '{"name": Infinity}', 'undefined', '{"name":"x"}}', '{"name":"\\x41"}', '{"name":"\\u12"}', '\u0000', '{"name":"x"} trailing', '"unterminated'];
  for (const raw of malformed) add({ name: `malformed JSON ${JSON.stringify(raw)}`, method: 'POST', path: projects(), raw, status: 400, code: 'invalid_request' });
  add({ name: 'empty JSON body', method: 'POST', path: projects(), raw: '', status: 400, code: 'invalid_request' });
  add({ name: 'invalid UTF-8 bytes', method: 'POST', path: projects(), raw: new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: 400, code: 'invalid_request' });
  add({ name: 'truncated UTF-8 sequence', method: 'POST', path: projects(), raw: new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xe2, 0x82]), status: 400, code: 'invalid_request' });
  const truncated = JSON.stringify({ project_id: projectId, type: 'diagnostic.sleep', payload: { ms: 5 } });
  for (const cut of [1, 10, 30, truncated.length - 1]) add({ name: `truncated job JSON at ${cut}`, method: 'POST', path: '/jobs', raw: truncated.slice(0, cut), status: 400, code: 'invalid_request' });

  const wrongProjects: [string, unknown][] = [
    ['name is a number', { name: 1 }],
    ['name is true', { name: true }],
    ['name is null', { name: null }],
    ['name is an array', { name: ['x'] }],
    ['name is an object', { name: { x: 1 } }],
    ['name is empty', { name: '' }],
    ['name is blank', { name: ' \t\n ' }],
    ['name is too long', { name: 'x'.repeat(201) }],
    ['name has NUL', { name: 'a\u0000b' }],
    ['name is a lone surrogate', { name: '\ud800' }],
    ['description is a number', { name: 'x', description: 5 }],
    ['description is too long', { name: 'x', description: 'd'.repeat(2001) }],
    ['description has NUL', { name: 'x', description: 'nul\u0000here' }],
    ['unknown field', { name: 'x', created_by: crypto.randomUUID() }],
    ['missing name', { description: 'x' }],
    ['body is an array', [{ name: 'x' }]],
    ['body is a string', 'x'],
    ['body is a number', 42],
    ['body is null', null],
    ['body is true', true],
    ['deeply nested', { name: 'x', description: JSON.parse('['.repeat(500) + ']'.repeat(500)) }],
  ];
  for (const [name, body] of wrongProjects) add({ name: `create project: ${name}`, method: 'POST', path: projects(), body, status: 400, code: 'invalid_request' });
  for (const [name, body] of wrongProjects.slice(0, 14)) add({ name: `edit project: ${name}`, method: 'PATCH', path: projects(`/${projectIdPlaceholder}`), body, status: 400, code: 'invalid_request' });
  add({ name: 'edit project: empty patch', method: 'PATCH', path: projects(`/${projectIdPlaceholder}`), body: {}, status: 400, code: 'invalid_request' });

  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'text/json', null]) {
    add({ name: `content type ${contentType ?? '(none)'}`, method: 'POST', path: projects(), raw: '{"name":"x"}', contentType, status: 415, code: 'unsupported_media_type' });
  }
  add({ name: 'content type for a job', method: 'POST', path: '/jobs', raw: 'project_id=x', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' });

  add({ name: 'body over 256 KiB', method: 'POST', path: projects(), body: { name: 'x', description: 'd'.repeat(300 * 1024) }, status: 413, code: 'payload_too_large' });
  add({ name: 'job body over 256 KiB', method: 'POST', path: '/jobs', body: { project_id: projectId, type: 'project.stats', payload: { x: 'y'.repeat(300 * 1024) } }, status: 413, code: 'payload_too_large' });
  add({ name: 'job payload over 64 KiB', method: 'POST', path: '/jobs', body: { project_id: projectId, type: 'project.stats', payload: { x: 'y'.repeat(70 * 1024) } }, status: 413, code: 'payload_too_large' });
  add({
    name: 'chunked body over 256 KiB',
    method: 'POST',
    path: projects(),
    raw: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name":"x","description":"'));
        for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(8 * 1024).fill(0x61));
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    }),
    status: 413,
    code: 'payload_too_large',
  });

  const badIds = ['abc', '123', 'null', 'undefined', `${projectIdPlaceholder}0`, projectIdPlaceholder.replaceAll('-', ''), '00000000-0000-0000-0000-00000000000g', "'%20OR%201%3D1%20--", '%F0%9F%9A%80', '..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(300)];
  for (const id of badIds) {
    add({ name: `invalid project id ${id.slice(0, 40)}`, method: 'GET', path: projects(`/${id}`), status: 400, code: 'invalid_request' });
    add({ name: `invalid job id ${id.slice(0, 40)}`, method: 'GET', path: `/jobs/${id}`, status: 400, code: 'invalid_request' });
  }
  for (const id of badIds.slice(0, 4)) {
    add({ name: `invalid id for members ${id}`, method: 'GET', path: projects(`/${id}/members`), status: 400, code: 'invalid_request' });
    add({ name: `invalid member id ${id}`, method: 'PATCH', path: projects(`/${projectIdPlaceholder}/members/${id}`), body: { role: 'viewer' }, status: 400, code: 'invalid_request' });
    add({ name: `invalid member id on delete ${id}`, method: 'DELETE', path: projects(`/${projectIdPlaceholder}/members/${id}`), status: 400, code: 'invalid_request' });
    add({ name: `invalid invitation id ${id}`, method: 'DELETE', path: projects(`/${projectIdPlaceholder}/invitations/${id}`), status: 400, code: 'invalid_request' });
    add({ name: `invalid id to cancel ${id}`, method: 'POST', path: `/jobs/${id}/cancel`, status: 400, code: 'invalid_request' });
    add({ name: `invalid id to retry ${id}`, method: 'POST', path: `/jobs/${id}/retry`, status: 400, code: 'invalid_request' });
  }

  for (const path of ['/projects/%E0%A4%A', '/projects/%', '/projects/%zz', '/projects/%C3%28', '/jobs/%FF', '/jobs?project_id=%ZZ', '/jobs?status=%', '/jobs?cursor=%E2%82', '/projects/invitations/mine?x=%G0']) {
    add({ name: `broken percent-encoding ${path}`, method: 'GET', path, status: 400, code: 'invalid_request' });
  }

  const badQueries = ['limit=abc', 'limit=-1', 'limit=1.5', 'limit=1e9', 'limit=', 'status=RUNNING', 'status=queued&status=running', "project_id='%20OR%201=1", `cursor=${b64url('not json')}`, `cursor=${b64url(JSON.stringify(['yesterday', 'x']))}`, `cursor=${b64url(JSON.stringify(["2026-01-01'; drop table jobs; --", crypto.randomUUID()]))}`, 'cursor=%00'];
  for (const query of badQueries) add({ name: `job list query ${query.slice(0, 50)}`, method: 'GET', path: `/jobs?${query}`, status: 400, code: 'invalid_request' });

  // Well-formed cursors holding a date Postgres cannot take (JavaScript takes them all).
  const cursorDates = ['275760-09-13', '12/31/99999', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z', '0000-01-01T00:00:00+00:00', '2026-02-30T00:00:00+00:00', '2026-13-01T00:00:00+00:00', '2026-01-01T24:00:00+00:00', '2026-01-01T00:60:00+00:00', '2026-01-01T00:00:00+99:00', '2026-01-01', 'Tue, 01 Dec 2026 00:00:00 GMT', '2026-01-01T00:00:00.1234567+00:00'];
  for (const date of cursorDates) {
    add({ name: `cursor date ${date}`, method: 'GET', path: `/jobs?cursor=${b64url(JSON.stringify([date, crypto.randomUUID()]))}`, status: 400, code: 'invalid_request', message: /^invalid cursor$/ });
  }
  // Every query parameter given twice, with the same or different values.
  const once: Record<string, string> = { project_id: projectIdPlaceholder, status: 'queued', limit: '5', cursor: b64url(JSON.stringify(['2026-01-01T00:00:00+00:00', crypto.randomUUID()])) };
  for (const [name, value] of Object.entries(once)) {
    add({ name: `job list ${name} twice`, method: 'GET', path: `/jobs?${name}=${value}&${name}=${value}`, status: 400, code: 'invalid_request', message: new RegExp(`"${name}" is given more than once`) });
  }
  add({ name: 'job list limit=100&limit=5', method: 'GET', path: '/jobs?limit=100&limit=5', status: 400, code: 'invalid_request', message: /"limit" is given more than once/ });
  add({ name: 'job list limit twice, apart', method: 'GET', path: '/jobs?limit=5&status=queued&limit=6', status: 400, code: 'invalid_request', message: /"limit"/ });
  add({ name: 'unknown parameter twice on the listing', method: 'GET', path: `${projects()}?x=1&x=2`, status: 400, code: 'invalid_request', message: /"x" is given more than once/ });
  add({ name: 'parameter twice on a write', method: 'POST', path: `${projects()}?a=1&a=1`, body: { name: 'x' }, status: 400, code: 'invalid_request', message: /"a"/ });
  add({ name: 'encoded name twice', method: 'GET', path: '/jobs?lim%69t=1&limit=2', status: 400, code: 'invalid_request', message: /"limit"/ });

  const badJobs: [string, unknown][] = [
    ['missing project_id', { type: 'project.stats' }],
    ['missing type', { project_id: projectIdPlaceholder }],
    ['type is a number', { project_id: projectIdPlaceholder, type: 7 }],
    ['type is empty', { project_id: projectIdPlaceholder, type: '' }],
    ['type is too long', { project_id: projectIdPlaceholder, type: 'a'.repeat(101) }],
    ['type is SQL', { project_id: projectIdPlaceholder, type: "x'; drop table public.jobs; --" }],
    ['type has NUL', { project_id: projectIdPlaceholder, type: 'project.\u0000stats' }],
    ['unknown type', { project_id: projectIdPlaceholder, type: 'project.delete_everything' }],
    ['payload is a string', { project_id: projectIdPlaceholder, type: 'project.stats', payload: 'x' }],
    ['payload is an array', { project_id: projectIdPlaceholder, type: 'project.stats', payload: [] }],
    ['payload is null', { project_id: projectIdPlaceholder, type: 'project.stats', payload: null }],
    ['payload has an unknown key', { project_id: projectIdPlaceholder, type: 'project.stats', payload: { x: 1 } }],
    ['payload value of the wrong type', { project_id: projectIdPlaceholder, type: 'diagnostic.sleep', payload: { ms: '10' } }],
    ['payload value out of range', { project_id: projectIdPlaceholder, type: 'diagnostic.sleep', payload: { ms: 10, fail_times: 99 } }],
    ['payload with a NUL key', { project_id: projectIdPlaceholder, type: 'diagnostic.sleep', payload: { 'm\u0000s': 10 } }],
    ['project_id is a number', { project_id: 1, type: 'project.stats' }],
    ['project_id is not a uuid', { project_id: 'project-1', type: 'project.stats' }],
    ['extra top-level key', { project_id: projectIdPlaceholder, type: 'project.stats', status: 'succeeded' }],
  ];
  for (const [name, body] of badJobs) add({ name: `submit job: ${name}`, method: 'POST', path: '/jobs', body, status: 400, code: 'invalid_request' });
  for (const [name, key] of [['too long', 'k'.repeat(256)], ['with spaces', 'a key'], ['empty', ''], ['latin-1', 'clé']] as const) {
    add({ name: `Idempotency-Key ${name}`, method: 'POST', path: '/jobs', body: { project_id: projectIdPlaceholder, type: 'project.stats' }, headers: { 'idempotency-key': key }, status: 400, code: 'invalid_request' });
  }

  const member = projects(`/${projectIdPlaceholder}/members/${ownerIdPlaceholder}`);
  for (const [name, body] of [['role admin', { role: 'admin' }], ['role null', { role: null }], ['role missing', {}], ['role number', { role: 1 }], ['extra key', { role: 'viewer', user_id: 'x' }], ['role uppercase', { role: 'OWNER' }]] as const) {
    add({ name: `change role: ${name}`, method: 'PATCH', path: member, body, status: 400, code: 'invalid_request' });
  }
  const invite = projects(`/${projectIdPlaceholder}/invitations`);
  for (const [name, body] of [['no email', { role: 'viewer' }], ['email number', { email: 1 }], ['email too short', { email: 'a' }], ['email too long', { email: `${'x'.repeat(400)}@example.com` }], ['email without @', { email: 'not-an-email' }], ['role god', { email: 'a@example.com', role: 'god' }], ['email with NUL', { email: 'a\u0000@example.com' }]] as const) {
    add({ name: `invite: ${name}`, method: 'POST', path: invite, body, status: 400, code: 'invalid_request' });
  }
  for (const [name, body] of [['no token', {}], ['empty token', { token: '' }], ['numeric token', { token: 123 }], ['token too long', { token: 't'.repeat(201) }], ['token with NUL', { token: 'a\u0000b' }]] as const) {
    add({ name: `accept: ${name}`, method: 'POST', path: projects('/invitations/accept'), body, status: 400, code: 'invalid_request' });
  }

  for (const [method, path] of [['PUT', projects()], ['DELETE', projects()], ['PATCH', '/jobs'], ['PUT', `/jobs/${jobIdPlaceholder}`], ['GET', `/jobs/${jobIdPlaceholder}/retry`], ['POST', projects(`/${projectIdPlaceholder}/members`)], ['DELETE', projects('/invitations/mine')], ['POST', '/projects/health'], ['PATCH', '/projects/health'], ['DELETE', '/projects/health'], ['PATCH', '/projects/openapi.json'], ['DELETE', '/projects/docs'], ['PATCH', projects('/invitations/mine')], ['PATCH', projects('/invitations/accept')], ['DELETE', '/jobs/health'], ['POST', '/jobs/openapi.json']] as const) {
    add({ name: `method ${method} ${path}`, method, path, status: 405, code: 'method_not_allowed' });
  }
  for (const path of [projects('/a/b/c/d'), '/jobs/a/b/c', projects(`/${projectIdPlaceholder}/nothing`), '/jobs/health/x']) {
    add({ name: `unknown route ${path}`, method: 'GET', path, status: 404, code: 'not_found' });
  }
  return cases;
}

const projectIdPlaceholder = '11111111-1111-4111-8111-111111111111';
const ownerIdPlaceholder = '22222222-2222-4222-8222-222222222222';
const jobIdPlaceholder = '33333333-3333-4333-8333-333333333333';

function materialize(value: string): string {
  return value.replaceAll(projectIdPlaceholder, projectId).replaceAll(ownerIdPlaceholder, owner.id).replaceAll(jobIdPlaceholder, jobId);
}

describe('bad requests', () => {
  it('answers at least 150 bad requests with their 4xx in the error shape, never a 5xx', async () => {
    const cases = corpus(await badTokens());
    expect(cases.length).toBeGreaterThanOrEqual(150);
    const failures: string[] = [];
    const queue = [...cases];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const c = next;
          const headers: Record<string, string> = { ...c.headers };
          if (c.authorization !== null) headers.authorization = c.authorization ?? `Bearer ${token}`;
          let body: BodyInit | undefined;
          if (c.raw !== undefined) {
            body = typeof c.raw === 'string' ? c.raw : (c.raw as BodyInit);
            if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
          } else if (c.body !== undefined) {
            body = materialize(JSON.stringify(c.body));
            headers['content-type'] = 'application/json';
          }
          const init: RequestInit & { duplex?: 'half' } = { method: c.method, headers, body };
          if (c.raw instanceof ReadableStream) init.duplex = 'half';
          let status = 0;
          let text = '';
          let requestId: string | null = null;
          try {
            const response = await fetch(`${fns.url}${materialize(c.path)}`, init);
            status = response.status;
            requestId = response.headers.get('x-request-id');
            text = await response.text();
          } catch (error) {
            text = String(error);
          }
          let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const shapeOk = typeof parsed?.error?.code === 'string' && typeof parsed?.error?.message === 'string' && !!requestId;
          const messageOk = !c.message || (typeof parsed?.error?.message === 'string' && c.message.test(parsed.error.message));
          if (status !== c.status || parsed?.error?.code !== c.code || !shapeOk || !messageOk) {
            failures.push(`${c.name}: expected ${c.status} ${c.code}, got ${status} ${text.slice(0, 200)}`);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
  });

  it('stores SQL-looking and unusual but valid text verbatim', async () => {
    const values = [
      "'; DROP TABLE public.projects; --",
      'Robert"); DELETE FROM auth.users WHERE ("1"="1',
      '$1 $$ $tag$ \\x00 \\\\ %s %d {{name}} ${name}',
      '<img src=x onerror=alert(1)> &amp; &#0;',
      'e\u0301 ñ 漢字 🚀 \u200b zero-width \u202e rtl',
      'tab\there\nnewline\r\nCRLF',
    ];
    for (const name of values) {
      const created = await call(fns, 'POST', '/projects', { token, body: { name, description: name } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.name).toBe(name.trim());
      const [row] = await sql`select name, description from public.projects where id = ${created.body.id}`;
      expect(row).toEqual({ name: name.trim(), description: name });
    }
    const key = "key');DROP/**/TABLE/**/jobs;--";
    const job = await call(fns, 'POST', '/jobs', { token, body: { project_id: projectId, type: 'project.export', payload: { include_jobs: false } }, headers: { 'idempotency-key': key } });
    expect(job.status).toBe(202);
    const [row] = await sql`select idempotency_key, payload from public.jobs where id = ${job.body.id}`;
    expect(row).toEqual({ idempotency_key: key, payload: { include_jobs: false } });
  });
});
