-- oracle: skip (skydeck-only: the revision function, and the deliberate fixes of bugs in the original londiste 3.8)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- the API level implemented and the revision of sql/londiste.sql
select londiste.version(), londiste.skydeck_revision() >= 1 as has_revision;

select * from pgq_node.register_location('rq', 'root1', 'dbname=root1', false);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, null);

-- create_trigger reports the trigger it made (the original's column is
-- always NULL: a local variable shadows it)
create table t1 (id int4 primary key);
select * from londiste.create_trigger('rq', 'public.t1', null, 'public.t1', 'root');
select * from londiste.create_trigger('rq', 'public.t1', array['tgflags=BS'], 'public.t1', 'root');
select * from londiste.create_trigger('rq', 'public.t1', array['no_triggers'], 'public.t1', 'root');

-- so local_add_table's 301 warning works: another row-level AFTER trigger
-- sorting before the londiste one (the original never reports it)
create table trg_first (id int4 primary key);
create function trg_noop() returns trigger language plpgsql as $$ begin return null; end $$;
create trigger "_aaa" after insert on trg_first for each row execute procedure trg_noop();
create trigger "zzz" after insert on trg_first for each row execute procedure trg_noop();
select * from londiste.local_add_table('rq', 'trg_first');

-- a lone skip trigger with a name needing quotes is renamed (the original
-- builds the ALTER TRIGGER from the unquoted name and fails)
create table t3 (id int4 primary key);
create trigger "My skip" before insert on t3 for each row execute procedure pgq.logutriga('xq', 'SKIP');
select * from londiste.create_trigger('rq', 'public.t3', array['tgflags=BS'], 'public.t3', 'root');
select tgname from pg_trigger where tgrelid = 't3'::regclass order by tgname;

-- primary-key columns are found by column number (the original matches the
-- index's own column positions, so a dropped column or a key not leading the
-- table gives wrong letters, and can make a keyed table look keyless)
create table k1 (a int4, b text, c int4, primary key (c, a));
alter table k1 drop column b;
select londiste.find_column_types('k1');
create table k2 (gone int4, id int4 primary key);
alter table k2 drop column gone;
select londiste.find_column_types('k2');
select * from londiste.local_add_table('rq', 'k2');

-- obsolete partitions: the parent's name is matched literally, not as a
-- regular expression
create table "ev+_2000_01" (id int4);
create table evvv_2000_01 (id int4);
select * from londiste.list_obsolete_partitions('public.ev+', '1 month', 'month');
