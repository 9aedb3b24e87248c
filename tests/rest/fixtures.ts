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
