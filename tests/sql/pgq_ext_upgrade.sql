-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- upgrade_schema(): tables made by pgq_ext 3.1 and older, keyed by consumer
-- alone, get subconsumer_id ('' for existing rows) in their primary key.
create temp view ext_columns as
select c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) as type,
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid) as default
  from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
 where c.relnamespace = 'pgq_ext'::regnamespace and c.relkind = 'r';
create temp view ext_keys as
select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def
  from pg_constraint
 where connamespace = 'pgq_ext'::regnamespace;

-- a current schema needs nothing
select pgq_ext.upgrade_schema();
select * from ext_columns order by 1, 2;
select * from ext_keys order by 1, 2;

-- the old layout, with some progress recorded
drop table pgq_ext.completed_tick, pgq_ext.completed_batch,
           pgq_ext.completed_event, pgq_ext.partial_batch;
create table pgq_ext.completed_batch (
    consumer_id text not null,
    last_batch_id bigint not null,
    primary key (consumer_id));
create table pgq_ext.completed_event (
    consumer_id text not null,
    batch_id bigint not null,
    event_id bigint not null,
    primary key (consumer_id, batch_id, event_id));
create table pgq_ext.partial_batch (
    consumer_id text not null,
    cur_batch_id bigint not null,
    primary key (consumer_id));
create table pgq_ext.completed_tick (
    consumer_id text not null,
    last_tick_id bigint not null,
    primary key (consumer_id));
insert into pgq_ext.completed_batch values ('old_a', 41), ('old_b', 42);
insert into pgq_ext.completed_event values ('old_a', 43, 1), ('old_a', 43, 2);
insert into pgq_ext.partial_batch values ('old_a', 43);
insert into pgq_ext.completed_tick values ('old_t', 44);

-- four columns added, four defaults set
select pgq_ext.upgrade_schema();
select pgq_ext.upgrade_schema();
select * from ext_columns order by 1, 2;
select * from ext_keys order by 1, 2;
select * from pgq_ext.completed_batch order by 1, 2;
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;
select * from pgq_ext.completed_tick order by 1, 2;

-- the progress recorded before is still in effect
select pgq_ext.is_batch_done('old_a', 41);
select pgq_ext.set_batch_done('old_a', 41);
select pgq_ext.set_batch_done('old_a', 'sub', 41);
select pgq_ext.is_event_done('old_a', 43, 2);
select pgq_ext.set_event_done('old_a', 43, 2);
select pgq_ext.set_event_done('old_a', 44, 1);
select pgq_ext.get_last_tick('old_t');
select pgq_ext.set_last_tick('old_t', 'sub', 45);
-- and an old client that does not name the subconsumer still can insert
insert into pgq_ext.completed_tick (consumer_id, last_tick_id) values ('old_client', 46);
select pgq_ext.get_last_tick('old_client');
select * from pgq_ext.completed_batch order by 1, 2;
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;
select * from pgq_ext.completed_tick order by 1, 2;

-- half-way states: columns present without their default, a table still
-- in the old layout
alter table pgq_ext.completed_event alter column subconsumer_id drop default;
alter table pgq_ext.partial_batch alter column subconsumer_id drop default;
select pgq_ext.upgrade_schema();
drop table pgq_ext.completed_tick;
create table pgq_ext.completed_tick (
    consumer_id text not null,
    last_tick_id bigint not null,
    primary key (consumer_id));
insert into pgq_ext.completed_tick values ('old_t', 47);
select pgq_ext.upgrade_schema();
select * from ext_columns where relname = 'completed_tick' order by 1, 2;
select * from ext_keys order by 1, 2;
select * from pgq_ext.completed_tick order by 1, 2;
select pgq_ext.upgrade_schema();

-- a missing table is an error
drop table pgq_ext.partial_batch;
select pgq_ext.upgrade_schema();
