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
