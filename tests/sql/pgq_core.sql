-- PgQ core life cycle: queues, consumers, ticks, batches, retry, rotation,
-- maintenance list and the sequence helpers.
\set VERBOSITY terse
set client_min_messages = 'warning';
set timezone = 'UTC';
set DateStyle = 'ISO, YMD';

-- nothing to vacuum while autovacuum runs; no retry events yet
select count(*) from pgq.maint_tables_to_vacuum();
select pgq.maint_retry_events();

-- queue creation is idempotent; the first tick comes with the queue
select pgq.create_queue('alpha');
select pgq.create_queue('alpha');
select pgq.create_queue('beta');
select queue_id, queue_name, queue_ntables, queue_cur_table, queue_data_pfx,
       queue_event_seq, queue_tick_seq, queue_rotation_period,
       queue_ticker_max_count, queue_ticker_max_lag, queue_ticker_idle_period,
       queue_external_ticker, queue_disable_insert, queue_ticker_paused,
       queue_per_tx_limit, queue_extra_maint, queue_switch_step2 is not null as step2_set
  from pgq.queue order by queue_id;
select tick_queue, tick_id, tick_event_seq from pgq.tick order by 1, 2;
select relname from pg_class where relname like 'event\_1%' order by 1;

-- tunables
select pgq.set_queue_config('alpha', 'ticker_max_count', '2');
select pgq.set_queue_config('alpha', 'ticker_max_lag', '1 hour');
select pgq.set_queue_config('alpha', 'ticker_idle_period', '2 hours');
select pgq.set_queue_config('alpha', 'ticker_paused', 'false');
select pgq.set_queue_config('alpha', 'external_ticker', 'false');
select queue_ticker_max_count, queue_ticker_max_lag, queue_ticker_idle_period
  from pgq.queue where queue_name = 'alpha';

-- registration
select pgq.register_consumer('alpha', 'c1');
select pgq.register_consumer('alpha', 'c1');
select pgq.register_consumer('alpha', 'c2');
select pgq.register_consumer('beta', 'c1');
select co_id, co_name from pgq.consumer order by 1;
select sub_id, sub_queue, sub_consumer, sub_last_tick, sub_batch, sub_next_tick
  from pgq.subscription order by 1;
select pgq.unregister_consumer('beta', 'c1');
select pgq.unregister_consumer('beta', 'c1');
select pgq.unregister_consumer('beta', 'nobody');

-- no new tick yet: no batch
select pgq.next_batch('alpha', 'c1');
select * from pgq.next_batch_info('alpha', 'c1');

-- events: 3 and 7 argument forms
select pgq.insert_event('alpha', 'ev-a', 'data-1');
select pgq.insert_event('alpha', 'ev-b', 'data-2', 'x1', 'x2', 'x3', 'x4');
select pgq.insert_event('alpha', 'ev-c', 'data-3', null, 'only2', null, null);
select pgq.current_event_table('alpha');
select ev_id, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4,
       ev_owner, ev_retry, ev_txid = txid_current() as own_tx
  from pgq.event_1 order by ev_id;

-- idle ticker does nothing, busy one ticks
select pgq.ticker('beta');
select pgq.ticker('alpha');
select pgq.ticker('alpha');
select pgq.ticker();
select tick_queue, tick_id, tick_event_seq from pgq.tick order by 1, 2;

-- a batch, asked for twice before finishing: the same batch
select pgq.next_batch('alpha', 'c1');
select pgq.next_batch('alpha', 'c1');
select batch_id, cur_tick_id, prev_tick_id, cur_tick_event_seq, prev_tick_event_seq,
       cur_tick_time >= prev_tick_time as ordered
  from pgq.next_batch_info('alpha', 'c1');
select queue_name, consumer_name, prev_tick_id, tick_id, seq_start, seq_end,
       batch_end >= batch_start as ordered, lag < '1 hour' as recent
  from pgq.get_batch_info(1);
select * from pgq.get_batch_info(12345);
select * from pgq.batch_event_tables(1);
select right(pgq.batch_event_sql(1), 11) as sql_tail;
select ev_id, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4
  from pgq.get_batch_events(1);

select queue_name, consumer_name, last_tick, current_batch, next_tick, pending_events,
       lag < '1 hour' as lag_ok, last_seen < '1 hour' as seen_ok
  from pgq.get_consumer_info();
select queue_name, consumer_name, last_tick, current_batch, next_tick, pending_events
  from pgq.get_consumer_info('alpha');
select queue_name, consumer_name, last_tick, current_batch, next_tick, pending_events
  from pgq.get_consumer_info('alpha', 'c2');
select queue_name, consumer_name from pgq.get_consumer_info(null, 'c2');
select count(*) from pgq.get_consumer_info('nosuch');

select queue_name, queue_ntables, queue_cur_table, queue_rotation_period,
       queue_external_ticker, queue_ticker_paused, queue_ticker_max_count,
       queue_ticker_max_lag, queue_ticker_idle_period, ev_new, last_tick_id,
       ticker_lag < '1 hour' as lag_ok, ev_per_sec is null or ev_per_sec >= 0 as rate_ok
  from pgq.get_queue_info();
select queue_name, last_tick_id, ev_new from pgq.get_queue_info('beta');
select count(*) from pgq.get_queue_info('nosuch');

-- finishing twice: the second is a warning
select pgq.finish_batch(1);
select pgq.finish_batch(1);
select pgq.next_batch('alpha', 'c1');

-- second consumer gets the same events in its own batch
select pgq.next_batch('alpha', 'c2');
select count(*), min(ev_id), max(ev_id) from pgq.get_batch_events(2);

-- cursor access with a quick limit and a filter
begin;
select ev_id, ev_type from pgq.get_batch_cursor(2, 'cur_a', 2);
move all in cur_a;
\echo moved :ROW_COUNT
close cur_a;
select ev_id, ev_type from pgq.get_batch_cursor(2, 'Cur B', 10, 'ev_type <> ''ev-b''');
close "Cur B";
select ev_id from pgq.get_batch_cursor(2, 'cur_c', 0, null);
move all in cur_c;
\echo moved :ROW_COUNT
close cur_c;
select count(*) from pgq.get_batch_cursor(2, null, 5);
select count(*) from pgq.get_batch_cursor(null, 'x', 5, null);
commit;

-- retry: single events, then the rest of the batch
select pgq.event_retry(2, 1::bigint, 0);
select pgq.event_retry(2, 1::bigint, 0);
select pgq.event_retry(2, 2::bigint, now() - interval '1 second');
select pgq.batch_retry(2, 0);
select pgq.batch_retry(2, 0);
select ev_queue, ev_id, ev_owner, ev_retry, ev_txid, ev_type, ev_data, ev_extra2
  from pgq.retry_queue order by ev_owner, ev_id;
select pgq.finish_batch(2);

-- an arbitrary retry event, with and without an id
select pgq.event_retry_raw('alpha', 'c2', now(), 777, now(), 3, 'raw', 'raw-data', 'e1', null, null, 'e4');
select pgq.event_retry_raw('alpha', 'c2', now() + interval '1 hour', null, now(), null, 'later', 'later-data', null, null, null, null);
select ev_id, ev_retry, ev_type, ev_data, ev_extra1, ev_extra4
  from pgq.retry_queue where ev_id > 3 order by ev_id;

-- due events go back into the queue, for c2 only
select pgq.maint_retry_events();
select pgq.maint_retry_events();
select count(*) from pgq.retry_queue;
select ev_id, ev_owner, ev_retry, ev_type from pgq.event_1 where ev_owner is not null order by ev_id;
select pgq.ticker('alpha');
select pgq.next_batch('alpha', 'c1');
select ev_id, ev_type from pgq.get_batch_events(3);
select pgq.finish_batch(3);
select pgq.next_batch('alpha', 'c2');
select ev_id, ev_retry, ev_type, ev_data from pgq.get_batch_events(4);
select pgq.finish_batch(4);

-- batch tuning: min_count / min_interval / min_lag
select pgq.insert_event('alpha', 'n', 'x') from generate_series(1, 4);
select pgq.ticker('alpha');
select pgq.insert_event('alpha', 'n', 'x') from generate_series(1, 4);
select pgq.ticker('alpha');
select batch_id from pgq.next_batch_custom('alpha', 'c1', '1 hour', null, null);
select batch_id, prev_tick_id, cur_tick_id from pgq.next_batch_custom('alpha', 'c1', null, 100, null);
select batch_id, prev_tick_id, cur_tick_id from pgq.next_batch_custom('alpha', 'c1', null, null, '1 hour');
select batch_id, prev_tick_id, cur_tick_id from pgq.next_batch_custom('alpha', 'c1', null, 6, null);
select count(*) from pgq.get_batch_events(5);
select pgq.finish_batch(5);
select batch_id, prev_tick_id, cur_tick_id from pgq.next_batch_custom('alpha', 'c2', null, 1, null);
select count(*) from pgq.get_batch_events(6);
select pgq.finish_batch(6);
select batch_id, prev_tick_id, cur_tick_id from pgq.next_batch_custom('alpha', 'c2', '0', null, '0');
select pgq.finish_batch(7);
select * from pgq.find_tick_helper(1, 1, now() - interval '1 hour', 0, 1, null) where false;

-- repositioning an existing consumer
select pgq.next_batch('alpha', 'c1');
select pgq.register_consumer_at('alpha', 'c1', 2);
select sub_last_tick, sub_batch, sub_next_tick from pgq.subscription
 where sub_consumer = (select co_id from pgq.consumer where co_name = 'c1');
select pgq.register_consumer_at('alpha', 'c3', 3);
select consumer_name, last_tick from pgq.get_consumer_info('alpha');

-- rotation: due immediately with a zero period
select pgq.set_queue_config('beta', 'rotation_period', '0');
select * from pgq.maint_operations();
select pgq.maint_rotate_tables_step1('beta');
select * from pgq.maint_operations();
select pgq.maint_rotate_tables_step2();
select queue_name, queue_cur_table, queue_switch_step2 is not null as step2_set
  from pgq.queue order by 1;
select pgq.maint_rotate_tables_step1('beta');
select pgq.maint_rotate_tables_step2();
select pgq.maint_rotate_tables_step1('beta');
select pgq.maint_rotate_tables_step2();
select pgq.maint_rotate_tables_step1('alpha');
select pgq.maint_rotate_tables_step1('nosuch');
select queue_name, queue_cur_table from pgq.queue order by 1;
select pgq.current_event_table('beta');
select pgq.insert_event('beta', 'after-rotation', 'x');
select count(*) from pgq.event_2_0;
select pgq.set_queue_config('beta', 'rotation_period', '2 hours');

-- extra maintenance functions per queue
update pgq.queue set queue_extra_maint = array['pgq.maint_rotate_tables_step2', 'public.my_maint']
 where queue_name = 'beta';
update pgq.queue set queue_extra_maint = array['public.alpha_maint'] where queue_name = 'alpha';
select * from pgq.maint_operations();
update pgq.queue set queue_extra_maint = null;

-- force_tick pushes the event sequence so the next ticker run ticks
select pgq.set_queue_config('beta', 'ticker_max_lag', '1 hour');
select pgq.set_queue_config('beta', 'ticker_idle_period', '1 hour');
select last_tick_id from pgq.get_queue_info('beta');
select pgq.ticker('beta');
select pgq.force_tick('beta');
select ev_new from pgq.get_queue_info('beta');
select pgq.ticker('beta');
select pgq.force_tick('beta') = (select last_tick_id from pgq.get_queue_info('beta'));
select pgq.force_tick('nosuch');

-- external ticks
select pgq.set_queue_config('beta', 'external_ticker', 'true');
select pgq.ticker('beta', 100, now(), 5000);
select pgq.ticker('beta', 101, now(), 10);
select tick_id, tick_event_seq from pgq.tick where tick_queue = 2 and tick_id >= 100 order by 1;
select pgq.seq_getval('pgq.event_2_tick_seq'), pgq.seq_getval('pgq.event_2_id_seq');
select pgq.force_tick('beta');
select pgq.ticker();
select pgq.set_queue_config('beta', 'external_ticker', 'false');

-- sequence helpers and quoting
create sequence public.test_seq;
select pgq.seq_getval('test_seq'), pgq.seq_getval('public.test_seq');
select pgq.seq_setval('test_seq', 10);
select pgq.seq_setval('test_seq', 5);
select pgq.seq_getval('test_seq');
select pgq.seq_getval(null), pgq.seq_setval(null, 1), pgq.seq_setval('test_seq', null);
select pgq.quote_fqname('tbl'), pgq.quote_fqname('Sch.Tbl'), pgq.quote_fqname('a.b.c'),
       pgq.quote_fqname('sch."x'), pgq.quote_fqname(null);
select pgq.tune_storage('alpha'), pgq.tune_storage('nosuch');
select pgq.grant_perms('alpha');
select pgq.upgrade_schema();

-- dropping: refused with consumers, forced otherwise
select pgq.drop_queue('alpha');
select pgq.drop_queue('alpha', true);
select pgq.drop_queue('beta');
select count(*) from pgq.queue;
select count(*) from pgq.subscription;
select count(*) from pgq.consumer;
select count(*) from pgq.tick;
select count(*) from pgq.retry_queue;
select count(*) from pg_class where relname like 'event\_%';
select pgq.drop_queue(null);

-- ids keep counting after a drop
select pgq.create_queue('gamma');
select queue_id, queue_data_pfx from pgq.queue;
select pgq.insert_event('gamma', 't', 'd');
select pgq.drop_queue('gamma');
