-- Every error and warning text of the PgQ API, each triggered once.
\set VERBOSITY terse
set client_min_messages = 'warning';

select pgq.create_queue('eq');
select pgq.register_consumer('eq', 'ec');

-- queue management
select pgq.create_queue(null);
select pgq.drop_queue('nosuch');
select pgq.drop_queue('nosuch', true);
select pgq.drop_queue('eq');
select pgq.set_queue_config(null, 'ticker_max_count', '1');
select pgq.set_queue_config('eq', null, '1');
select pgq.set_queue_config('nosuch', 'ticker_max_count', '1');
select pgq.set_queue_config('eq', 'disable_insert', 'true');
select pgq.set_queue_config('eq', 'per_tx_limit', '1');
select pgq.set_queue_config('eq', 'queue_ticker_max_count', '1');
select pgq.set_queue_config('eq', 'ticker_max_count', 'many');
select pgq.grant_perms('nosuch');

-- producing
select pgq.insert_event('nosuch', 't', 'd');
select pgq.insert_event(null, 't', 'd');
select pgq.insert_event('nosuch', 't', 'd', null, null, null, null);
select pgq.insert_event_raw('nosuch', null, now(), null, null, 't', 'd', null, null, null, null);
select pgq.insert_event_raw(null, null, now(), null, null, 't', 'd', null, null, null, null);
select pgq.current_event_table('nosuch');
update pgq.queue set queue_disable_insert = true where queue_name = 'eq';
select pgq.insert_event('eq', 't', 'd');
select pgq.insert_event_raw('eq', null, now(), null, null, 't', 'd', null, null, null, null);
select pgq.current_event_table('eq');
update pgq.queue set queue_disable_insert = false, queue_per_tx_limit = 0 where queue_name = 'eq';
select pgq.insert_event('eq', 't', 'd');
update pgq.queue set queue_per_tx_limit = null where queue_name = 'eq';

-- consumers
select pgq.register_consumer('nosuch', 'ec');
select pgq.register_consumer_at('nosuch', 'ec', 1);
select pgq.register_consumer_at('eq', 'ec', 999);
select pgq.register_consumer_at('eq', 'new', 999);
select pgq.create_queue('noticks');
delete from pgq.tick where tick_queue = (select queue_id from pgq.queue where queue_name = 'noticks');
select pgq.register_consumer('noticks', 'ec');
select pgq.event_retry_raw('eq', 'nobody', now(), null, now(), null, 't', 'd', null, null, null, null);
select pgq.event_retry_raw('nosuch', 'ec', now(), null, now(), null, 't', 'd', null, null, null, null);

-- batches
select pgq.next_batch('eq', 'nobody');
select pgq.next_batch('nosuch', 'ec');
select pgq.next_batch(null, null);
select * from pgq.next_batch_info('eq', 'nobody');
select * from pgq.next_batch_custom(null, 'ec', null, null, null);
select * from pgq.get_batch_events(999);
select * from pgq.get_batch_cursor(999, 'c', 10);
select * from pgq.get_batch_cursor(999, 'c', 10, 'true');
select pgq.batch_event_sql(999);
select * from pgq.batch_event_tables(999);
select pgq.event_retry(999, 1::bigint, 0);
select pgq.event_retry(999, 1::bigint, now());
select pgq.batch_retry(999, 0);
select pgq.finish_batch(999);
select pgq.set_queue_config('eq', 'ticker_max_count', '1');
select pgq.insert_event('eq', 't', 'd');
select pgq.insert_event('eq', 't', 'd');
select pgq.ticker('eq');
select pgq.next_batch('eq', 'ec');
select pgq.event_retry(1, 999::bigint, 0);
select pgq.event_retry(1, 999::bigint, now());
select count(*) from pgq.get_batch_events(1);
select pgq.finish_batch(1);

-- ticker
select pgq.ticker('nosuch');
select pgq.ticker(null);
select pgq.ticker('eq', 50, now(), 10);
select pgq.ticker('nosuch', 50, now(), 10);
select pgq.set_queue_config('eq', 'external_ticker', 'true');
select pgq.ticker('eq');
select pgq.set_queue_config('eq', 'external_ticker', 'false');
select pgq.set_queue_config('eq', 'ticker_paused', 'true');
select pgq.ticker('eq');
select pgq.ticker();
select pgq.set_queue_config('eq', 'external_ticker', 'true');
select pgq.ticker('eq', 50, now(), 10);
select pgq.set_queue_config('eq', 'external_ticker', 'false');
select pgq.set_queue_config('eq', 'ticker_paused', 'false');

-- rotation refuses when the slowest consumer's tick is gone
select pgq.set_queue_config('eq', 'rotation_period', '0');
delete from pgq.tick where tick_queue = (select queue_id from pgq.queue where queue_name = 'eq')
   and tick_id = (select sub_last_tick from pgq.subscription
                   where sub_queue = (select queue_id from pgq.queue where queue_name = 'eq'));
select pgq.maint_rotate_tables_step1('eq');

-- a subscription without a readable last tick
update pgq.subscription set sub_last_tick = null
 where sub_queue = (select queue_id from pgq.queue where queue_name = 'eq');
select count(*) from pgq.next_batch_info('eq', 'ec') where false;
select pgq.unregister_consumer('eq', 'ec');
select pgq.drop_queue('eq');
select pgq.drop_queue('noticks');
