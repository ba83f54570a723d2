-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Who may use pgq_ext: whoever applies events in this database (pgq_writer,
-- and pgq_admin through it); version() is for everybody; the tables are
-- reached through the functions only.  Test roles get names unique to this
-- database so runs can share a cluster.
select 'pgqt_admin_' || current_database() as r_admin,
       'pgqt_writer_' || current_database() as r_writer,
       'pgqt_reader_' || current_database() as r_reader,
       'pgqt_nobody_' || current_database() as r_nobody \gset
create role :"r_admin" in role pgq_admin;
create role :"r_writer" in role pgq_writer;
create role :"r_reader" in role pgq_reader;
create role :"r_nobody";

select p.oid::regprocedure as function,
       has_function_privilege('pgq_reader', p.oid, 'execute') as reader,
       has_function_privilege('pgq_writer', p.oid, 'execute') as writer,
       has_function_privilege('pgq_admin', p.oid, 'execute') as admin,
       has_function_privilege(:'r_nobody', p.oid, 'execute') as nobody,
       p.prosecdef as secdef
  from pg_proc p
 where p.pronamespace = 'pgq_ext'::regnamespace
   and p.proname <> 'skydeck_revision'
 order by p.oid::regprocedure::text;
select c.relname,
       has_table_privilege('pgq_writer', c.oid, 'select') as writer_select,
       has_table_privilege('pgq_writer', c.oid, 'insert,update,delete') as writer_dml,
       has_table_privilege(:'r_nobody', c.oid, 'select') as nobody_select
  from pg_class c
 where c.relnamespace = 'pgq_ext'::regnamespace and c.relkind = 'r'
 order by 1;
select has_schema_privilege(:'r_nobody', 'pgq_ext', 'usage') as usage;

-- a writer does all of its tracking
set role :"r_writer";
select pgq_ext.set_batch_done('w', 1);
select pgq_ext.set_batch_done('w', 's', 1);
select pgq_ext.is_batch_done('w', 1);
select pgq_ext.is_batch_done('w', 's', 1);
select pgq_ext.set_event_done('w', 1, 1);
select pgq_ext.set_event_done('w', 's', 1, 1);
select pgq_ext.is_event_done('w', 1, 1);
select pgq_ext.is_event_done('w', 's', 1, 1);
select pgq_ext.set_last_tick('w', 1);
select pgq_ext.set_last_tick('w', 's', 1);
select pgq_ext.get_last_tick('w');
select pgq_ext.get_last_tick('w', 's');
select pgq_ext.set_last_tick('w', 's', null);
select count(*) from (select pgq_ext.version()) v;
-- but not behind the functions' back
select count(*) from pgq_ext.completed_batch;
insert into pgq_ext.completed_tick (consumer_id, last_tick_id) values ('w2', 1);
delete from pgq_ext.completed_event;
reset role;

-- so does an admin
set role :"r_admin";
select pgq_ext.set_batch_done('a', 1);
select pgq_ext.is_event_done('a', 1, 1);
select pgq_ext.set_last_tick('a', 1);
select pgq_ext.get_last_tick('a');
reset role;

-- a reader and anybody else may only ask for the version
set role :"r_reader";
select pgq_ext.is_batch_done('w', 1);
select pgq_ext.set_batch_done('r', 's', 1);
select pgq_ext.set_event_done('r', 1, 1);
select pgq_ext.get_last_tick('w');
select count(*) from (select pgq_ext.version()) v;
select count(*) from pgq_ext.completed_tick;
reset role;
set role :"r_nobody";
select pgq_ext.is_batch_done('w', 's', 1);
select pgq_ext.set_batch_done('n', 1);
select pgq_ext.is_event_done('w', 's', 1, 1);
select pgq_ext.set_event_done('n', 's', 1, 1);
select pgq_ext.get_last_tick('w', 's');
select pgq_ext.set_last_tick('n', 1);
select pgq_ext.set_last_tick('n', 's', 1);
select pgq_ext.upgrade_schema();
select count(*) from (select pgq_ext.version()) v;
reset role;

select * from pgq_ext.completed_batch order by 1, 2;
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;
select * from pgq_ext.completed_tick order by 1, 2;

drop role :"r_admin";
drop role :"r_writer";
drop role :"r_reader";
drop role :"r_nobody";
