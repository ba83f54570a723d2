-- oracle: skip (skydeck-only: version numbers and where skydeck's upgrade_schema succeeds where upstream pgq_ext fails)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- versions: the pgq_ext API level implemented (the original reports its
-- extension version, NULL without one) and the revision of sql/pgq_ext.sql
select pgq_ext.version(), pgq_ext.skydeck_revision();

create temp view ext_keys as
select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def
  from pg_constraint
 where connamespace = 'pgq_ext'::regnamespace;

-- a pgq_writer may check a current schema (the original looked at
-- information_schema, which hides the tables from it, and then failed trying
-- to alter them)
select 'pgqt_writer_' || current_database() as r_writer \gset
create role :"r_writer" in role pgq_writer;
set role :"r_writer";
select pgq_ext.upgrade_schema();
reset role;

-- an old table whose primary key has another name is upgraded (the original
-- only knew the default name)
drop table pgq_ext.completed_batch;
create table pgq_ext.completed_batch (
    consumer_id text not null,
    last_batch_id bigint not null,
    constraint old_batch_key primary key (consumer_id));
insert into pgq_ext.completed_batch values ('c', 5);
-- and so is one that lost its primary key
drop table pgq_ext.completed_tick;
create table pgq_ext.completed_tick (
    consumer_id text not null,
    last_tick_id bigint not null);
insert into pgq_ext.completed_tick values ('c', 6);
-- while a pgq_writer still cannot change the tables
set role :"r_writer";
select pgq_ext.upgrade_schema();
reset role;
select pgq_ext.upgrade_schema();
select * from ext_keys order by 1, 2;
select pgq_ext.is_batch_done('c', 5);
select pgq_ext.get_last_tick('c');
select pgq_ext.upgrade_schema();

drop role :"r_writer";
