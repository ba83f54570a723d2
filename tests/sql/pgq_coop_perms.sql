-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Who may use pgq_coop: consumers (pgq_reader, and pgq_admin through it);
-- version() is for everybody.  Test roles get names unique to this database
-- so runs can share a cluster.
select 'pgqt_admin_' || current_database() as r_admin,
       'pgqt_writer_' || current_database() as r_writer,
       'pgqt_reader_' || current_database() as r_reader,
       'pgqt_nobody_' || current_database() as r_nobody \gset
create role :"r_admin" in role pgq_admin;
create role :"r_writer" in role pgq_writer;
create role :"r_reader" in role pgq_reader;
create role :"r_nobody";

select pgq.create_queue('pq');
update pgq.queue set queue_ticker_max_count = 1, queue_ticker_max_lag = '0',
                     queue_ticker_idle_period = '0'
 where queue_name = 'pq';

-- the grants themselves
select p.oid::regprocedure as function,
       has_function_privilege('pgq_reader', p.oid, 'execute') as reader,
       has_function_privilege('pgq_writer', p.oid, 'execute') as writer,
       has_function_privilege('pgq_admin', p.oid, 'execute') as admin,
       has_function_privilege(:'r_nobody', p.oid, 'execute') as nobody,
       p.prosecdef as secdef
  from pg_proc p
 where p.pronamespace = 'pgq_coop'::regnamespace
   and p.proname <> 'skydeck_revision'
 order by p.oid::regprocedure::text;
select has_schema_privilege(:'r_nobody', 'pgq_coop', 'usage') as usage;

-- a reader runs a whole group
set role :"r_reader";
select pgq_coop.register_subconsumer('pq', 'rgrp', 'w1');
select pgq_coop.next_batch('pq', 'rgrp', 'w1');
select pgq_coop.next_batch('pq', 'rgrp', 'w2', '1 hour');
select pgq_coop.next_batch_custom('pq', 'rgrp', 'w3', null, null, null);
select pgq_coop.next_batch_custom('pq', 'rgrp', 'w3', null, null, null, '1 hour');
select pgq_coop.finish_batch(1);
select pgq_coop.unregister_subconsumer('pq', 'rgrp', 'w3', 0);
select count(*) from (select pgq_coop.version()) v;
reset role;
select pgq.insert_event('pq', 'e1', '1');
select pgq.ticker('pq');
set role :"r_reader";
select pgq_coop.next_batch('pq', 'rgrp', 'w1');
select ev_id, ev_type from pgq.get_batch_events(1);
select pgq_coop.finish_batch(1);
select pgq.unregister_consumer('pq', 'rgrp');
reset role;

-- so does an admin
set role :"r_admin";
select pgq_coop.register_subconsumer('pq', 'agrp', 'w1');
select pgq_coop.next_batch('pq', 'agrp', 'w1');
select pgq_coop.finish_batch(2);
select pgq_coop.unregister_subconsumer('pq', 'agrp', 'w1', 0);
reset role;

-- a writer and anybody else may not
set role :"r_writer";
select pgq_coop.register_subconsumer('pq', 'wgrp', 'w1');
select pgq_coop.unregister_subconsumer('pq', 'agrp', 'w1', 0);
select pgq_coop.next_batch('pq', 'wgrp', 'w1');
select pgq_coop.next_batch('pq', 'wgrp', 'w1', '1 hour');
select pgq_coop.next_batch_custom('pq', 'wgrp', 'w1', null, null, null);
select pgq_coop.next_batch_custom('pq', 'wgrp', 'w1', null, null, null, null);
select pgq_coop.finish_batch(1);
select count(*) from (select pgq_coop.version()) v;
reset role;
set role :"r_nobody";
select pgq_coop.register_subconsumer('pq', 'ngrp', 'w1');
select pgq_coop.next_batch('pq', 'ngrp', 'w1');
select pgq_coop.finish_batch(1);
select count(*) from (select pgq_coop.version()) v;
reset role;

select c.co_name, s.sub_last_tick, s.sub_batch
  from pgq.subscription s join pgq.consumer c on c.co_id = s.sub_consumer
 order by 1;

select pgq.drop_queue('pq', true);
drop role :"r_admin";
drop role :"r_writer";
drop role :"r_reader";
drop role :"r_nobody";
