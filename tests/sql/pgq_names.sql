-- Hostile queue, consumer and cursor names travel through every call.
\set VERBOSITY terse
set client_min_messages = 'warning';

create temp table names (n int, q text, c text);
insert into names values
  (1, 'it''s a "queue"', 'con''sumer "1"'),
  (2, 'Mixed Case', 'MiXeD'),
  (3, 'ünïcødé ✓ 队列', 'потребитель'),
  (4, 'semi; drop table pgq.queue; --', 'back\slash'),
  (5, 'dots.in.name', 'x.y');

select n, pgq.create_queue(q) from names order by n;
select n, pgq.create_queue(q) from names order by n;
select n, pgq.set_queue_config(q, 'ticker_max_count', '1') from names order by n;
select n, pgq.set_queue_config(q, 'ticker_max_lag', '1 hour') from names order by n;
select n, pgq.register_consumer(q, c) from names order by n;
select n, pgq.insert_event(q, 'type ' || q, 'data ' || c) from names order by n;
select n, pgq.insert_event(q, 'seven', q, c, '''', '"', '\') from names order by n;
select n, pgq.insert_event_raw(q, null, null, null, null, 'raw', q, null, null, null, null) from names order by n;
select n, pgq.current_event_table(q) from names order by n;
select n, pgq.ticker(q) from names order by n;
select queue_name, last_tick_id, ev_new from pgq.get_queue_info() order by queue_name;

select n, pgq.next_batch(q, c) from names order by n;
select n, b.batch_id, b.prev_tick_id, b.cur_tick_id
  from names, lateral pgq.next_batch_info(q, c) b order by n;
select n, i.queue_name, i.consumer_name from names, lateral pgq.next_batch_info(q, c) b,
       lateral pgq.get_batch_info(b.batch_id) i order by n;
select n, e.ev_id, e.ev_type, e.ev_data, e.ev_extra1, e.ev_extra2, e.ev_extra3, e.ev_extra4
  from names, lateral pgq.next_batch_info(q, c) b, lateral pgq.get_batch_events(b.batch_id) e
 order by n, e.ev_id;
select queue_name, consumer_name, last_tick, current_batch, next_tick
  from pgq.get_consumer_info() order by queue_name, consumer_name;
select queue_name, consumer_name from pgq.get_consumer_info('Mixed Case', 'MiXeD');

begin;
select ev_id, ev_type from pgq.get_batch_cursor(1, 'cursor "with" ''quotes''', 1,
       'ev_data like ''%''''%''');
move all in "cursor ""with"" 'quotes'";
\echo moved :ROW_COUNT
commit;

select n, pgq.event_retry(b.batch_id, 1::bigint, 0) from names, lateral pgq.next_batch_info(q, c) b order by n;
select n, pgq.finish_batch(b.batch_id) from names, lateral pgq.next_batch_info(q, c) b order by n;
select pgq.maint_retry_events();
select n, pgq.event_retry_raw(q, c, now() + interval '1 day', 99, now(), 1, 'r', 'd', null, null, null, null)
  from names order by n;
select n, pgq.force_tick(q) > 0 from names order by n;
select n, pgq.ticker(q) is not null from names order by n;
select n, count(e.ev_id), min(e.ev_retry)
  from names, lateral pgq.next_batch_info(q, c) b, lateral pgq.get_batch_events(b.batch_id) e
 group by n order by n;

-- per-transaction limit and disabled queue messages carry the name
update pgq.queue set queue_per_tx_limit = 0 where queue_name = 'it''s a "queue"';
select pgq.insert_event('it''s a "queue"', 't', 'd');
update pgq.queue set queue_per_tx_limit = null, queue_disable_insert = true where queue_name = 'ünïcødé ✓ 队列';
select pgq.insert_event('ünïcødé ✓ 队列', 't', 'd');
update pgq.queue set queue_disable_insert = false;

-- maintenance names the queue as an argument
update pgq.queue set queue_extra_maint = array['pgq.maint_rotate_tables_step2'] where queue_name = 'Mixed Case';
update pgq.queue set queue_rotation_period = '0' where queue_name = 'semi; drop table pgq.queue; --';
select * from pgq.maint_operations();
select pgq.maint_rotate_tables_step1('semi; drop table pgq.queue; --');
select pgq.maint_rotate_tables_step2();
select queue_name, queue_cur_table from pgq.queue order by queue_id;
select pgq.insert_event('semi; drop table pgq.queue; --', 'after', 'rotation');

select n, pgq.unregister_consumer(q, c) from names where n = 2;
select n, pgq.drop_queue(q) from names where n = 2;
select n, pgq.drop_queue(q, true) from names where n <> 2 order by n;
select count(*) from pgq.queue;
select count(*) from pgq.consumer;
