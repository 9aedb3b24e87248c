/**
 * A `test` schema shaped after PostgREST's own spec fixtures (test/spec/fixtures/schema.sql
 * and data.sql at v16.2: items 1..15, complex_items, simple_pk, tsearch, no_pk, ranges),
 * so that cases drawn from its spec tests can be asked of the local Data API with the
 * same data. Created by the superuser in a private database; anon and authenticated may
 * read every table but `secret`.
 */
export const SPEC_FIXTURES = `
create schema test;
grant usage on schema test to anon, authenticated;
create table test.items (id bigserial primary key);
insert into test.items select generate_series(1, 15);
create table test.complex_items (id bigint not null primary key, name text, settings json, arr_data integer[], "field-with_sep" integer default 1 not null);
insert into test.complex_items values (1, 'One', '{"foo":{"int":1,"bar":"baz"}}', '{1}');
insert into test.complex_items values (2, 'Two', '{"foo":{"int":1,"bar":"baz"}}', '{1,2}');
insert into test.complex_items values (3, 'Three', '{"foo":{"int":1,"bar":"baz"}}', '{1,2,3}', 3);
create table test.simple_pk (k character varying primary key, extra character varying not null);
insert into test.simple_pk values ('xyyx', 'u'), ('xYYx', 'v');
create table test.tsearch (text_search_vector tsvector);
insert into test.tsearch values (to_tsvector('It''s kind of fun to do the impossible')), (to_tsvector('But also fun to do what is possible')),
  (to_tsvector('Fat cats ate rats')), (to_tsvector('french', 'C''est un peu amusant de faire l''impossible'));
create table test.no_pk (a text, b text);
insert into test.no_pk values ('1', '0'), ('2', '0'), (null, null);
create table test.nullable_integer (a integer);
insert into test.nullable_integer values (null);
create table test.ranges (id integer primary key, range int4range);
insert into test.ranges values (1, '[1,3]'), (2, '[3,6]'), (3, '[6,9]'), (4, '[9,12]');
create table test.secret (id integer);
insert into test.secret values (1);
create table test.dotted (id integer primary key, "a.b" text);
insert into test.dotted values (1, 'x');
create view test.items_view as select * from test.items where id < 4;
grant select on all tables in schema test to anon, authenticated;
revoke select on test.secret from anon, authenticated;
`;

/**
 * Tables for the write cases, after PostgREST's spec fixtures of the same names (tiobe_pls,
 * employees, auto_incrementing_pk, safe_update_items, limited privileges, RLS), created
 * after SPEC_FIXTURES in a database of their own (writes change the data).
 */
export const WRITE_FIXTURES = `
create table test.tiobe_pls (name text primary key, rank smallint);
insert into test.tiobe_pls values ('Java', 1), ('C', 2), ('Python', 3);
create table test.employees (first_name text, last_name text, salary money, company text, occupation text, primary key (first_name, last_name));
insert into test.employees values ('Frances M.', 'Roe', '24000', 'One-Up Realty', 'Author'), ('Daniel B.', 'Lyon', '36000', 'Dubrow''s Cafeteria', 'Packer');
create table test.auto_incrementing_pk (id serial primary key, nullable_string text, non_nullable_string text not null, inserted_at timestamptz default now());
create table test.with_defaults (id int primary key, name text default 'unnamed', "field-with_sep" integer default 1 not null);
create table test.parents (id int primary key);
insert into test.parents values (1);
create table test.children (id int primary key, parent_id int references test.parents (id), x int check (x > 0));
create table test.limited (id int primary key, secret text);
create table test.guarded (id int primary key, owner text not null default current_user);
alter table test.guarded enable row level security;
create policy guarded_read on test.guarded for select using (true);
create policy guarded_insert on test.guarded for insert with check (id < 100);
create policy guarded_update on test.guarded for update using (id < 10);
insert into test.guarded values (1, 'x'), (50, 'y');
create table test.write_log (id serial primary key, note text, method text default current_setting('request.method', true),
  role text default current_user, read_only text default current_setting('transaction_read_only'));
grant select, insert, update, delete on all tables in schema test to anon, authenticated;
grant usage on all sequences in schema test to anon, authenticated;
revoke all on test.limited from anon, authenticated;
grant select (id), insert (id) on test.limited to anon, authenticated;
revoke all on test.secret from anon, authenticated;
`;

/**
 * Tables with foreign keys for embedding cases, after the shapes of PostgREST's spec
 * fixtures (test/spec/fixtures/schema.sql at v16.2: clients/projects/tasks/users with the
 * users_tasks junction, agents/departments's circular keys, first/second's two one-to-one
 * keys, family_tree's self reference, a table referencing users twice, sites/big_projects related three ways; views renaming
 * key columns, a view over a view, one over a subquery), with data of
 * their own.
 */
export const EMBED_FIXTURES = `
create schema test;
grant usage on schema test to anon, authenticated;
create table test.clients (id integer primary key, name text not null);
insert into test.clients values (1, 'Microsoft'), (2, 'Apple');
create table test.projects (id integer primary key, name text not null, client_id integer references test.clients (id));
insert into test.projects values (1, 'Windows 7', 1), (2, 'Windows 10', 1), (3, 'IOS', 2), (4, 'OSX', 2), (5, 'Orphan', null);
create table test.tasks (id integer primary key, name text not null, project_id integer references test.projects (id));
insert into test.tasks values (1, 'Design w7', 1), (2, 'Code w7', 1), (3, 'Design w10', 2), (4, 'Code w10', 2),
  (5, 'Design IOS', 3), (6, 'Code IOS', 3), (7, 'Design OSX', 4), (8, 'Code OSX', 4);
create table test.users (id integer primary key, name text not null);
insert into test.users values (1, 'Angela Martin'), (2, 'Michael Scott'), (3, 'Dwight Schrute');
create table test.users_tasks (user_id integer references test.users (id), task_id integer references test.tasks (id), primary key (user_id, task_id));
insert into test.users_tasks values (1, 1), (1, 2), (1, 3), (1, 4), (2, 5), (2, 6), (2, 7), (3, 1), (3, 5);
create table test.departments (id integer primary key, name text not null, head_id integer);
create table test.agents (id integer primary key, name text not null, department_id integer references test.departments (id));
alter table test.departments add constraint departments_head_id_fkey foreign key (head_id) references test.agents (id);
insert into test.departments values (1, 'Sales', null), (2, 'Accounting', null);
insert into test.agents values (1, 'Jim', 1), (2, 'Oscar', 2), (3, 'Kevin', 2);
update test.departments set head_id = 1 where id = 1;
update test.departments set head_id = 2 where id = 2;
create table test.country (id integer primary key, name text not null);
create table test.capital (id integer primary key, name text not null, country_id integer unique references test.country (id));
insert into test.country values (1, 'Afghanistan'), (2, 'Algeria'), (3, 'Atlantis');
insert into test.capital values (1, 'Kabul', 1), (2, 'Algiers', 2);
create table test.second (id integer primary key, name text not null);
create table test.first (id integer primary key, name text not null, second_id_1 integer unique references test.second (id), second_id_2 integer unique references test.second (id));
insert into test.second values (1, 'uno'), (2, 'dos');
insert into test.first values (1, 'one', 1, 2);
create table test.family_tree (id integer primary key, name text not null, parent integer references test.family_tree (id));
insert into test.family_tree values (1, 'Parental Unit', null), (2, 'Kid One', 1), (3, 'Kid Two', 1), (4, 'Grandkid', 2);
create table test.messages (id integer primary key, body text not null, sender integer not null references test.users (id), recipient integer not null references test.users (id));
insert into test.messages values (1, 'Hello', 1, 2), (2, 'Hi', 2, 1), (3, 'Hey', 3, 1);
create table test.lonely (id integer primary key);
insert into test.lonely values (1);
create table test.big_projects (big_project_id integer primary key, name text not null);
create table test.sites (site_id integer primary key, name text not null, main_project_id integer, constraint main_project foreign key (main_project_id) references test.big_projects (big_project_id));
create table test.jobs (site_id integer references test.sites (site_id), big_project_id integer references test.big_projects (big_project_id), primary key (site_id, big_project_id));
create table test.main_jobs (site_id integer references test.sites (site_id), big_project_id integer references test.big_projects (big_project_id), primary key (site_id, big_project_id));
insert into test.big_projects values (1, 'big one');
insert into test.sites values (1, 'site one', 1);
insert into test.jobs values (1, 1);
create view test.projects_view as select id as project_id, name as title, client_id from test.projects;
create view test.projects_view_view as select * from test.projects_view where project_id < 3;
create view test.clients_view as select id as client_key, name from test.clients;
create view test.tasks_view as select id, name from (select * from test.tasks) t;
grant select on all tables in schema test to anon, authenticated;
`;
