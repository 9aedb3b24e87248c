/**
 * Embedded resources of the local Data API, in cases drawn in spirit from PostgREST v16.2's
 * spec tests (test/spec/Feature/Query: QuerySpec "embedding", EmbedDisambiguationSpec,
 * EmbedInnerJoinSpec, AndOrParamsSpec on embeds, SpreadQueriesSpec, AggregateFunctionsSpec
 * with aggregates off, ErrorSpec) on the fixtures of fixtures.ts (EMBED_FIXTURES), asked
 * through the devstack gateway. Each case asserts the status, the meaningful headers and
 * the exact body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBED_FIXTURES } from './fixtures.ts';
import { startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
beforeAll(async () => {
  stack = await startRestStack({ setupSql: EMBED_FIXTURES, config: { schemas: ['test'], extraSearchPath: ['public', 'extensions'], maxRows: undefined } });
});
afterAll(() => stack?.stop());

const JSON_TYPE = 'application/json; charset=utf-8';
const pgrstError = (code: string, message: string, details: unknown = null, hint: string | null = null) => ({ code, message, details, hint });
const notEmbedded = (name: string) => pgrstError('PGRST108', `'${name}' is not an embedded resource in this request`, null, `Verify that '${name}' is included in the 'select' query parameter.`);

interface Case {
  name: string;
  path: string;
  headers?: Record<string, string>;
  method?: string;
  status: number;
  /** JSON body (deep-equal), or with `text` the exact text. */
  body?: unknown;
  text?: string;
  /** Compare only these keys of an error body. */
  partial?: boolean;
  expectHeaders?: Record<string, string | null>;
}

const cases: Case[] = [
  // Cardinalities (QuerySpec "embedding")
  {
    name: 'many-to-one is an object, null without a parent row',
    path: '/projects?select=id,clients(name)&order=id',
    status: 200,
    body: [
      { id: 1, clients: { name: 'Microsoft' } },
      { id: 2, clients: { name: 'Microsoft' } },
      { id: 3, clients: { name: 'Apple' } },
      { id: 4, clients: { name: 'Apple' } },
      { id: 5, clients: null },
    ],
  },
  {
    name: 'one-to-many is an array',
    path: '/clients?select=id,projects(id,name)&order=id&projects.order=id',
    status: 200,
    body: [
      { id: 1, projects: [{ id: 1, name: 'Windows 7' }, { id: 2, name: 'Windows 10' }] },
      { id: 2, projects: [{ id: 3, name: 'IOS' }, { id: 4, name: 'OSX' }] },
    ],
  },
  { name: 'many-to-many through the junction', path: '/tasks?select=id,users(name)&id=lt.3&order=id&users.order=id', status: 200, body: [{ id: 1, users: [{ name: 'Angela Martin' }, { name: 'Dwight Schrute' }] }, { id: 2, users: [{ name: 'Angela Martin' }] }] },
  { name: 'many-to-many the other way', path: '/users?select=name,tasks(id)&id=eq.3&tasks.order=id', status: 200, body: [{ name: 'Dwight Schrute', tasks: [{ id: 1 }, { id: 5 }] }] },
  { name: 'many-to-many with the junction as hint', path: '/users?select=id,tasks!users_tasks(id)&id=eq.3&tasks.order=id', status: 200, body: [{ id: 3, tasks: [{ id: 1 }, { id: 5 }] }] },
  {
    name: 'one-to-one from the referenced side is an object',
    path: '/country?select=name,capital(name)&order=id',
    status: 200,
    body: [{ name: 'Afghanistan', capital: { name: 'Kabul' } }, { name: 'Algeria', capital: { name: 'Algiers' } }, { name: 'Atlantis', capital: null }],
  },
  { name: 'one-to-one from the referencing side', path: '/capital?select=name,country(name)&id=eq.1', status: 200, body: [{ name: 'Kabul', country: { name: 'Afghanistan' } }] },
  { name: 'an embed with *', path: '/projects?select=*,clients(*)&id=eq.3', status: 200, body: [{ id: 3, name: 'IOS', client_id: 2, clients: { id: 2, name: 'Apple' } }] },
  {
    name: 'nested embeds three levels deep',
    path: '/users?select=name,tasks(name,projects(name,clients(name)))&id=eq.2&tasks.order=id',
    status: 200,
    body: [
      {
        name: 'Michael Scott',
        tasks: [
          { name: 'Design IOS', projects: { name: 'IOS', clients: { name: 'Apple' } } },
          { name: 'Code IOS', projects: { name: 'IOS', clients: { name: 'Apple' } } },
          { name: 'Design OSX', projects: { name: 'OSX', clients: { name: 'Apple' } } },
        ],
      },
    ],
  },
  { name: 'embedding back to the parent table', path: '/projects?select=id,clients(name,projects(id))&id=eq.1&clients.projects.order=id', status: 200, body: [{ id: 1, clients: { name: 'Microsoft', projects: [{ id: 1 }, { id: 2 }] } }] },
  // Self references (EmbedDisambiguationSpec "self reference")
  {
    name: 'a self reference: the column for the parent, the table for the children',
    path: '/family_tree?select=name,parent(name),family_tree(name)&order=id&family_tree.order=id',
    status: 200,
    body: [
      { name: 'Parental Unit', parent: null, family_tree: [{ name: 'Kid One' }, { name: 'Kid Two' }] },
      { name: 'Kid One', parent: { name: 'Parental Unit' }, family_tree: [{ name: 'Grandkid' }] },
      { name: 'Kid Two', parent: { name: 'Parental Unit' }, family_tree: [] },
      { name: 'Grandkid', parent: { name: 'Kid One' }, family_tree: [] },
    ],
  },
  // Aliases, targets and hints
  { name: 'an alias on a to-one embed', path: '/projects?select=id,owner:clients(name)&id=eq.1', status: 200, body: [{ id: 1, owner: { name: 'Microsoft' } }] },
  { name: 'an alias on a to-many embed', path: '/clients?select=id,work:projects(name)&id=eq.2&work.order=id', status: 200, body: [{ id: 2, work: [{ name: 'IOS' }, { name: 'OSX' }] }] },
  { name: 'the foreign key name as target', path: '/projects?select=id,projects_client_id_fkey(name)&id=eq.1', status: 200, body: [{ id: 1, projects_client_id_fkey: { name: 'Microsoft' } }] },
  { name: 'the column as target', path: '/projects?select=id,client_id(name)&id=eq.1', status: 200, body: [{ id: 1, client_id: { name: 'Microsoft' } }] },
  { name: 'a foreign key hint disambiguates', path: '/messages?select=id,sender:users!messages_sender_fkey(name)&id=eq.1', status: 200, body: [{ id: 1, sender: { name: 'Angela Martin' } }] },
  { name: 'a column hint disambiguates', path: '/messages?select=id,to:users!recipient(name)&id=eq.1', status: 200, body: [{ id: 1, to: { name: 'Michael Scott' } }] },
  { name: 'two hinted embeds of one table', path: '/messages?select=body,from:users!sender(name),to:users!recipient(name)&id=eq.3', status: 200, body: [{ body: 'Hey', from: { name: 'Dwight Schrute' }, to: { name: 'Angela Martin' } }] },
  { name: 'a hint on a circular reference picks the direction', path: '/agents?select=name,departments!agents_department_id_fkey(name)&id=eq.3', status: 200, body: [{ name: 'Kevin', departments: { name: 'Accounting' } }] },
  { name: 'the other direction of the circular reference', path: '/agents?select=name,departments!departments_head_id_fkey(name)&id=eq.2', status: 200, body: [{ name: 'Oscar', departments: [{ name: 'Accounting' }] }] },
  // Filters, logic trees, order and ranges on embeds
  { name: 'a filter on an embed filters the embed only', path: '/clients?select=id,projects(id)&projects.id=gt.2&order=id&projects.order=id', status: 200, body: [{ id: 1, projects: [] }, { id: 2, projects: [{ id: 3 }, { id: 4 }] }] },
  { name: 'or on an embed', path: '/clients?select=id,projects(id)&projects.or=(id.eq.1,id.eq.4)&order=id', status: 200, body: [{ id: 1, projects: [{ id: 1 }] }, { id: 2, projects: [{ id: 4 }] }] },
  { name: 'not.and on an embed', path: '/clients?select=id,projects(id)&projects.not.and=(id.gt.1,id.lt.4)&order=id', status: 200, body: [{ id: 1, projects: [{ id: 1 }] }, { id: 2, projects: [{ id: 4 }] }] },
  { name: 'order on an embed', path: '/clients?select=id,projects(id)&projects.order=id.desc&id=eq.1', status: 200, body: [{ id: 1, projects: [{ id: 2 }, { id: 1 }] }] },
  { name: 'limit on an embed', path: '/clients?select=id,projects(name)&projects.order=id.desc&projects.limit=1&order=id', status: 200, body: [{ id: 1, projects: [{ name: 'Windows 10' }] }, { id: 2, projects: [{ name: 'OSX' }] }] },
  { name: 'limit and offset on an embed', path: '/clients?select=id,projects(id)&projects.limit=1&projects.offset=1&projects.order=id&order=id', status: 200, body: [{ id: 1, projects: [{ id: 2 }] }, { id: 2, projects: [{ id: 4 }] }] },
  { name: 'a filter two embeds deep', path: '/clients?select=id,projects(id,tasks(id))&projects.tasks.id=eq.1&projects.order=id&id=eq.1', status: 200, body: [{ id: 1, projects: [{ id: 1, tasks: [{ id: 1 }] }, { id: 2, tasks: [] }] }] },
  { name: 'a filter by the embed alias', path: '/clients?select=id,work:projects(id)&work.id=eq.4&order=id', status: 200, body: [{ id: 1, work: [] }, { id: 2, work: [{ id: 4 }] }], expectHeaders: { warning: null } },
  {
    name: 'a filter by the relation name of an aliased embed works, with PostgREST\'s Warning',
    path: '/clients?select=id,work:projects(id)&projects.id=eq.4&order=id',
    status: 200,
    body: [{ id: 1, work: [] }, { id: 2, work: [{ id: 4 }] }],
    expectHeaders: {
      warning:
        '299 PostgRESTv16.2 "Embedded resource was referenced by relation name even though it has an alias. This is deprecated and will stop working in a future release. Update `projects` to `work` in query string filters, orders or limits."',
    },
  },
  {
    name: 'order by a to-one embed column',
    path: '/projects?select=name,clients(name)&order=clients(name).desc.nullslast,id',
    status: 200,
    body: [
      { name: 'Windows 7', clients: { name: 'Microsoft' } },
      { name: 'Windows 10', clients: { name: 'Microsoft' } },
      { name: 'IOS', clients: { name: 'Apple' } },
      { name: 'OSX', clients: { name: 'Apple' } },
      { name: 'Orphan', clients: null },
    ],
  },
  // Views carry their tables' keys (QuerySpec "view embedding")
  { name: 'a view embeds its table\'s many-to-one, key column renamed', path: '/projects_view?select=title,clients(name)&project_id=eq.1', status: 200, body: [{ title: 'Windows 7', clients: { name: 'Microsoft' } }] },
  { name: 'a table embeds a view as one-to-many', path: '/clients?select=name,projects_view(title)&id=eq.2&projects_view.order=project_id', status: 200, body: [{ name: 'Apple', projects_view: [{ title: 'IOS' }, { title: 'OSX' }] }] },
  { name: 'a view embeds a view', path: '/clients_view?select=name,projects_view(title)&client_key=eq.1&projects_view.order=project_id', status: 200, body: [{ name: 'Microsoft', projects_view: [{ title: 'Windows 7' }, { title: 'Windows 10' }] }] },
  { name: 'a view over a view keeps the key', path: '/projects_view_view?select=title,clients(name)&order=project_id', status: 200, body: [{ title: 'Windows 7', clients: { name: 'Microsoft' } }, { title: 'Windows 10', clients: { name: 'Microsoft' } }] },
  { name: 'a view over a subquery is a junction target: many-to-many', path: '/tasks_view?select=id,users(name)&id=eq.1&users.order=id', status: 200, body: [{ id: 1, users: [{ name: 'Angela Martin' }, { name: 'Dwight Schrute' }] }] },
  { name: 'the column target from a view', path: '/projects_view?select=title,client_id(name)&project_id=eq.5', status: 200, body: [{ title: 'Orphan', client_id: null }] },
  {
    name: 'a view without the key columns has no relationship',
    path: '/tasks_view?select=name,projects(name)',
    status: 400,
    body: pgrstError('PGRST200', "Could not find a relationship between 'tasks_view' and 'projects' in the schema cache", "Searched for a foreign key relationship between 'tasks_view' and 'projects' in the schema 'test', but no matches were found."),
  },
  { name: 'select=count is a whole-row count at the top level too', path: '/projects?select=count', status: 200, body: [{ count: 5 }] },
  // Inner joins and null filters (EmbedInnerJoinSpec)
  { name: '!inner keeps only parents with a matching embed', path: '/clients?select=id,projects!inner(id)&projects.name=eq.IOS', headers: { prefer: 'count=exact' }, status: 200, body: [{ id: 2, projects: [{ id: 3 }] }], expectHeaders: { 'content-range': '0-0/1' } },
  { name: '!inner on a to-one embed', path: '/projects?select=name,clients!inner(name)&clients.name=eq.Apple&order=id', status: 200, body: [{ name: 'IOS', clients: { name: 'Apple' } }, { name: 'OSX', clients: { name: 'Apple' } }] },
  { name: '!inner with an empty embed filters without output', path: '/projects?select=name,clients!inner()&clients.name=eq.Apple&order=id', status: 200, body: [{ name: 'IOS' }, { name: 'OSX' }] },
  { name: '!inner counted with limit', path: '/projects?select=id,clients!inner(id)&limit=1&order=id', headers: { prefer: 'count=exact' }, status: 206, body: [{ id: 1, clients: { id: 1 } }], expectHeaders: { 'content-range': '0-0/4' } },
  { name: '!left is the default join', path: '/projects?select=id,clients!left(name)&id=eq.5', status: 200, body: [{ id: 5, clients: null }] },
  { name: 'an embed is.null filters parents without one', path: '/projects?select=name,clients()&clients=is.null', headers: { prefer: 'count=exact' }, status: 200, body: [{ name: 'Orphan' }], expectHeaders: { 'content-range': '0-0/1' } },
  { name: 'an embed not.is.null works as !inner', path: '/clients?select=id,projects(id)&projects=not.is.null&projects.name=eq.IOS', status: 200, body: [{ id: 2, projects: [{ id: 3 }] }] },
  {
    name: 'nested !inner restricts every level',
    path: '/clients?select=id,projects!inner(id,tasks!inner(name))&projects.tasks.name=eq.Code%20OSX',
    headers: { prefer: 'count=exact' },
    status: 200,
    body: [{ id: 2, projects: [{ id: 4, tasks: [{ name: 'Code OSX' }] }] }],
    expectHeaders: { 'content-range': '0-0/1' },
  },
  {
    name: '!inner below a left embed restricts that embed only',
    path: '/clients?select=id,projects(id,tasks!inner(name))&projects.tasks.name=eq.Code%20OSX&order=id',
    status: 200,
    body: [{ id: 1, projects: [] }, { id: 2, projects: [{ id: 4, tasks: [{ name: 'Code OSX' }] }] }],
  },
  { name: 'HEAD counts with !inner', path: '/clients?select=id,projects!inner(id)&projects.name=eq.IOS', method: 'HEAD', headers: { prefer: 'count=exact' }, status: 200, text: '', expectHeaders: { 'content-range': '0-0/1' } },
  { name: 'CSV carries an embed as its JSON text', path: '/projects?select=id,clients(name)&id=eq.1', headers: { accept: 'text/csv' }, status: 200, text: 'id,clients\n1,"{""name"": ""Microsoft""}"' },
  // Spreads (SpreadQueriesSpec)
  { name: 'a to-one spread lifts the columns', path: '/projects?select=name,...clients(client:name)&id=lt.3&order=id', status: 200, body: [{ name: 'Windows 7', client: 'Microsoft' }, { name: 'Windows 10', client: 'Microsoft' }] },
  { name: 'a to-one spread with a nested embed', path: '/tasks?select=name,...projects(project:name,clients(name))&id=eq.1', status: 200, body: [{ name: 'Design w7', project: 'Windows 7', clients: { name: 'Microsoft' } }] },
  { name: 'a to-many spread makes arrays of each column, in the embed order', path: '/clients?select=id,...projects(project_names:name)&projects.order=name&order=id', status: 200, body: [{ id: 1, project_names: ['Windows 10', 'Windows 7'] }, { id: 2, project_names: ['IOS', 'OSX'] }] },
  // Counting an embed with aggregates off
  { name: 'rel(count) counts the embedded rows (a whole-row count, no aggregate)', path: '/clients?select=name,projects(count)&order=id', status: 200, body: [{ name: 'Microsoft', projects: [{ count: 2 }] }, { name: 'Apple', projects: [{ count: 2 }] }] },
  { name: 'rel(count()) is an aggregate, refused as on the CLI', path: '/clients?select=name,projects(count())', status: 400, body: pgrstError('PGRST123', 'Use of aggregate functions is not allowed') },
  { name: 'rel(col.sum()) is refused too', path: '/clients?select=name,projects(id.sum())', status: 400, body: pgrstError('PGRST123', 'Use of aggregate functions is not allowed') },
  // A singular response with an embed
  { name: 'vnd.pgrst.object with an embed', path: '/projects?select=name,clients(name)&id=eq.4', headers: { accept: 'application/vnd.pgrst.object+json' }, status: 200, body: { name: 'OSX', clients: { name: 'Apple' } } },
  // Errors (EmbedDisambiguationSpec, ErrorSpec)
  {
    name: 'no relationship is PGRST200',
    path: '/projects?select=id,nope(*)',
    status: 400,
    body: pgrstError('PGRST200', "Could not find a relationship between 'projects' and 'nope' in the schema cache", "Searched for a foreign key relationship between 'projects' and 'nope' in the schema 'test', but no matches were found."),
    expectHeaders: { 'proxy-status': 'PostgREST; error=PGRST200' },
  },
  {
    name: 'a misspelt embed gets a suggestion',
    path: '/projects?select=id,clent(*)',
    status: 400,
    body: pgrstError(
      'PGRST200',
      "Could not find a relationship between 'projects' and 'clent' in the schema cache",
      "Searched for a foreign key relationship between 'projects' and 'clent' in the schema 'test', but no matches were found.",
      "Perhaps you meant 'clients' instead of 'clent'.",
    ),
  },
  {
    name: 'a hint that matches nothing is PGRST200 naming it',
    path: '/projects?select=id,clients!nope(*)',
    status: 400,
    body: pgrstError('PGRST200', "Could not find a relationship between 'projects' and 'clients' in the schema cache", "Searched for a foreign key relationship between 'projects' and 'clients' using the hint 'nope' in the schema 'test', but no matches were found."),
  },
  {
    name: 'a table without relationships is PGRST200',
    path: '/lonely?select=id,clients(*)',
    status: 400,
    partial: true,
    body: { code: 'PGRST200', message: "Could not find a relationship between 'lonely' and 'clients' in the schema cache", details: "Searched for a foreign key relationship between 'lonely' and 'clients' in the schema 'test', but no matches were found." },
  },
  {
    name: 'two foreign keys to one table are ambiguous: 300 and the candidates',
    path: '/messages?select=*,users(*)',
    status: 300,
    body: pgrstError(
      'PGRST201',
      "Could not embed because more than one relationship was found for 'messages' and 'users'",
      [
        { cardinality: 'many-to-one', embedding: 'messages with users', relationship: 'messages_recipient_fkey using messages(recipient) and users(id)' },
        { cardinality: 'many-to-one', embedding: 'messages with users', relationship: 'messages_sender_fkey using messages(sender) and users(id)' },
      ],
      "Try changing 'users' to one of the following: 'users!messages_recipient_fkey', 'users!messages_sender_fkey'. Find the desired relationship in the 'details' key.",
    ),
    expectHeaders: { 'proxy-status': 'PostgREST; error=PGRST201' },
  },
  {
    name: 'many-to-one and two many-to-many are ambiguous, in cardinality then junction order',
    path: '/sites?select=*,big_projects(*)',
    status: 300,
    body: pgrstError(
      'PGRST201',
      "Could not embed because more than one relationship was found for 'sites' and 'big_projects'",
      [
        { cardinality: 'many-to-one', embedding: 'sites with big_projects', relationship: 'main_project using sites(main_project_id) and big_projects(big_project_id)' },
        { cardinality: 'many-to-many', embedding: 'sites with big_projects', relationship: 'jobs using jobs_site_id_fkey(site_id) and jobs_big_project_id_fkey(big_project_id)' },
        { cardinality: 'many-to-many', embedding: 'sites with big_projects', relationship: 'main_jobs using main_jobs_site_id_fkey(site_id) and main_jobs_big_project_id_fkey(big_project_id)' },
      ],
      "Try changing 'big_projects' to one of the following: 'big_projects!main_project', 'big_projects!jobs', 'big_projects!main_jobs'. Find the desired relationship in the 'details' key.",
    ),
  },
  { name: 'the junction hint picks one many-to-many', path: '/sites?select=name,big_projects!jobs(name)', status: 200, body: [{ name: 'site one', big_projects: [{ name: 'big one' }] }] },
  { name: 'the other junction has no rows', path: '/sites?select=name,big_projects!main_jobs(name)', status: 200, body: [{ name: 'site one', big_projects: [] }] },
  { name: 'the key hint picks the many-to-one', path: '/sites?select=name,big_projects!main_project(name)', status: 200, body: [{ name: 'site one', big_projects: { name: 'big one' } }] },
  {
    name: 'a circular reference is ambiguous, one-to-many listed first',
    path: '/agents?select=*,departments(*)',
    status: 300,
    body: pgrstError(
      'PGRST201',
      "Could not embed because more than one relationship was found for 'agents' and 'departments'",
      [
        { cardinality: 'one-to-many', embedding: 'agents with departments', relationship: 'departments_head_id_fkey using agents(id) and departments(head_id)' },
        { cardinality: 'many-to-one', embedding: 'agents with departments', relationship: 'agents_department_id_fkey using agents(department_id) and departments(id)' },
      ],
      "Try changing 'departments' to one of the following: 'departments!departments_head_id_fkey', 'departments!agents_department_id_fkey'. Find the desired relationship in the 'details' key.",
    ),
  },
  {
    name: 'two one-to-one keys are ambiguous',
    path: '/first?select=second(*)',
    status: 300,
    body: pgrstError(
      'PGRST201',
      "Could not embed because more than one relationship was found for 'first' and 'second'",
      [
        { cardinality: 'one-to-one', embedding: 'first with second', relationship: 'first_second_id_1_fkey using first(second_id_1) and second(id)' },
        { cardinality: 'one-to-one', embedding: 'first with second', relationship: 'first_second_id_2_fkey using first(second_id_2) and second(id)' },
      ],
      "Try changing 'second' to one of the following: 'second!first_second_id_1_fkey', 'second!first_second_id_2_fkey'. Find the desired relationship in the 'details' key.",
    ),
  },
  { name: 'a filter on a resource not embedded is PGRST108', path: '/projects?select=id&clients.name=eq.x', status: 400, body: notEmbedded('clients') },
  { name: 'an order on a resource not embedded is PGRST108', path: '/projects?select=id&clients.order=name', status: 400, body: notEmbedded('clients') },
  { name: 'a limit on a resource not embedded is PGRST108', path: '/clients?select=id,projects(id)&tasks.limit=1', status: 400, body: notEmbedded('tasks') },
  { name: 'order=rel(col) without the embed is PGRST108', path: '/clients?select=id&order=projects(name)', status: 400, body: notEmbedded('projects') },
  {
    name: 'order=rel(col) on a to-many embed is PGRST118',
    path: '/clients?select=id,projects(id)&order=projects(name)',
    status: 400,
    body: pgrstError('PGRST118', "A related order on 'projects' is not possible", "'clients' and 'projects' do not form a many-to-one or one-to-one relationship"),
  },
  { name: 'an unknown column of an embed is 42703 with its alias', path: '/clients?select=id,projects(id,nope)', status: 400, body: pgrstError('42703', 'column projects_1.nope does not exist') },
  { name: 'an unknown column in an embed filter', path: '/clients?select=id,projects(id)&projects.nope=eq.1', status: 400, body: pgrstError('42703', 'column projects_1.nope does not exist') },
  { name: 'a negative limit on an embed', path: '/clients?select=id,projects(id)&projects.limit=-1', status: 416, body: pgrstError('PGRST103', 'Requested range not satisfiable', 'Limit should be greater than or equal to zero.') },
  { name: 'an unknown root table wins over its embeds', path: '/nope?select=id,clients(*)', status: 404, body: pgrstError('PGRST205', "Could not find the table 'test.nope' in the schema cache") },
];

describe('embedded resources answer as PostgREST v16.2', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name: $path', async (c) => {
    const response = await stack.rest(c.path, { method: c.method ?? 'GET', headers: c.headers });
    const text = await response.text();
    expect({ status: response.status, text }).toMatchObject({ status: c.status });
    if (c.text !== undefined) expect(text).toBe(c.text);
    else if (c.partial) expect(JSON.parse(text)).toMatchObject(c.body as object);
    else expect(JSON.parse(text)).toEqual(c.body);
    if (c.status >= 300) {
      expect(response.headers.get('content-type')).toBe(JSON_TYPE);
      if (c.status !== 416) expect(response.headers.get('proxy-status')).toBe(`PostgREST; error=${(c.body as { code: string }).code}`);
    }
    for (const [name, value] of Object.entries(c.expectHeaders ?? {})) expect(response.headers.get(name)).toBe(value);
  });
});
