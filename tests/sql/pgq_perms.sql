-- What pgq_reader, pgq_writer, pgq_admin and everybody else may do.
-- Test roles get names unique to this database so runs can share a cluster.
\set VERBOSITY terse
set client_min_messages = 'warning';

select 'pgqt_admin_' || current_database() as r_admin,
       'pgqt_writer_' || current_database() as r_writer,
       'pgqt_reader_' || current_database() as r_reader,
       'pgqt_nobody_' || current_database() as r_nobody \gset
create role :"r_admin" in role pgq_admin;
create role :"r_writer" in role pgq_writer;
create role :"r_reader" in role pgq_reader;
create role :"r_nobody";

-- the role structure itself
select r.rolname, m.rolname as member_of
  from pg_auth_members a
  join pg_roles r on r.oid = a.member
  join pg_roles m on m.oid = a.roleid
 where r.rolname in ('pgq_admin', 'pgq_writer', 'pgq_reader')
 order by 1, 2;

-- admin: manages queues and runs the ticker and maintenance
set role :"r_admin";
select pgq.create_queue('pq');
select pgq.set_queue_config('pq', 'ticker_max_count', '1');
select pgq.set_queue_config('pq', 'ticker_max_lag', '1 hour');
select pgq.insert_event('pq', 'by-admin', 'x');
select pgq.insert_event_raw('pq', null, now(), null, null, 'raw-by-admin', 'x', null, null, null, null);
select pgq.ticker('pq');
select pgq.ticker();
select pgq.register_consumer('pq', 'admin_consumer');
select count(*) from pgq.maint_operations();
select pgq.maint_retry_events();
select pgq.seq_setval('pgq.event_1_id_seq', 10);
select pgq.grant_perms('pq');
select pgq.tune_storage('pq');
select count(*) from pgq.event_1;
select pgq.current_event_table('pq');
select pgq.unregister_consumer('pq', 'admin_consumer');
reset role;

-- writer: produces, nothing else
set role :"r_writer";
select pgq.insert_event('pq', 'by-writer', 'x');
select pgq.insert_event('pq', 'by-writer-7', 'x', '1', '2', '3', '4');
select pgq.current_event_table('pq');
select pgq.insert_event_raw('pq', null, now(), null, null, 'raw-by-writer', 'x', null, null, null, null);
select pgq.register_consumer('pq', 'writer_consumer');
select pgq.next_batch('pq', 'writer_consumer');
select pgq.create_queue('writer_q');
select pgq.ticker('pq');
select count(*) from pgq.event_1;
insert into pgq.event_1_0 (ev_id, ev_time, ev_type) values (999, now(), 'direct');
select count(*) from pgq.queue;
reset role;

-- reader: consumes, nothing else
set role :"r_reader";
select pgq.register_consumer('pq', 'reader_consumer');
select pgq.insert_event('pq', 'by-reader', 'x');
select pgq.create_queue('reader_q');
select pgq.ticker('pq');
select pgq.force_tick('pq') > 0;
reset role;
select pgq.insert_event('pq', 'for-reader', 'x');
select pgq.insert_event('pq', 'for-reader', 'y');
select pgq.ticker('pq') > 0;
set role :"r_reader";
select pgq.next_batch('pq', 'reader_consumer') as batch \gset
select ev_type, ev_data from pgq.get_batch_events(:batch);
select pgq.batch_event_tables(:batch);
select length(pgq.batch_event_sql(:batch)) > 0;
select queue_name, consumer_name from pgq.get_batch_info(:batch);
begin;
select ev_type from pgq.get_batch_cursor(:batch, 'rc', 1);
close rc;
commit;
select pgq.event_retry(:batch, (select min(ev_id) from pgq.get_batch_events(:batch)), 60);
select pgq.batch_retry(:batch, 60);
select pgq.finish_batch(:batch);
select count(*) from pgq.event_1;
select count(*) from pgq.retry_queue;
select pgq.event_retry_raw('pq', 'reader_consumer', now(), null, now(), null, 't', 'd', null, null, null, null);
select pgq.maint_retry_events();
update pgq.queue set queue_ticker_max_count = 5;
select pgq.unregister_consumer('pq', 'reader_consumer');
reset role;

-- everybody: monitoring only
set role :"r_nobody";
select queue_name, last_tick_id > 0 from pgq.get_queue_info();
select queue_name, consumer_name from pgq.get_consumer_info();
select count(*) from pgq.get_consumer_info('pq');
select count(*) from pgq.get_consumer_info('pq', 'x');
select pgq.seq_getval('pgq.event_1_tick_seq') > 0;
select pgq.quote_fqname('a.b');
select count(*) from pgq.queue;
select count(*) from pgq.consumer;
select count(*) from pgq.tick;
select count(*) from pgq.subscription;
select count(*) from pgq.event_template;
select count(*) from pgq.event_1;
select count(*) from pgq.retry_queue;
select pgq.insert_event('pq', 'by-nobody', 'x');
select pgq.insert_event('pq', 'by-nobody', 'x', null, null, null, null);
select pgq.current_event_table('pq');
select pgq.register_consumer('pq', 'nobody_consumer');
select pgq.next_batch('pq', 'x');
select pgq.finish_batch(1);
select pgq.create_queue('nobody_q');
select pgq.drop_queue('pq');
select pgq.ticker();
select * from pgq.maint_operations();
select pgq.seq_setval('pgq.event_1_id_seq', 1);
reset role;

-- admin drops
set role :"r_admin";
select pgq.drop_queue('pq', true);
reset role;

drop role :"r_admin";
drop role :"r_writer";
drop role :"r_reader";
drop role :"r_nobody";
