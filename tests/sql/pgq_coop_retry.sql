-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Retry events belong to the sub_id, which a group shares: an event one
-- subconsumer postpones may come back to any member of the group, and to no
-- other consumer.
create temp view subs as
select c.co_name, s.sub_id, s.sub_last_tick, s.sub_batch, s.sub_next_tick
  from pgq.subscription s
  join pgq.consumer c on c.co_id = s.sub_consumer;

select pgq.create_queue('rq');
update pgq.queue set queue_ticker_max_count = 1, queue_ticker_max_lag = '0',
                     queue_ticker_idle_period = '0'
 where queue_name = 'rq';
select pgq_coop.register_subconsumer('rq', 'grp', 'w1');
select pgq_coop.register_subconsumer('rq', 'grp', 'w2');
select pgq.register_consumer('rq', 'plain');
select pgq_coop.register_subconsumer('rq', 'other', 'o1');
select * from subs order by co_name;

select pgq.insert_event('rq', 'e1', 'one');
select pgq.insert_event('rq', 'e2', 'two');
select pgq.insert_event('rq', 'e3', 'three');
select pgq.ticker('rq');

-- w1 postpones two events of its batch
select pgq_coop.next_batch('rq', 'grp', 'w1');
select ev_id, ev_retry, ev_type from pgq.get_batch_events(1);
select pgq.event_retry(1, 2, 0);
select pgq.event_retry(1, 2, 0);
select pgq.event_retry(1, 3::int8, now());
select pgq.event_retry(1, 99, 0);
select ev_queue, ev_owner, ev_id, ev_retry, ev_type, ev_data from pgq.retry_queue order by ev_id;
select pgq_coop.finish_batch(1);

-- back into the queue, owned by the group
select pgq.maint_retry_events();
select pgq.insert_event('rq', 'e4', 'four');
select pgq.ticker('rq');

-- w2 gets them together with the new event
select pgq_coop.next_batch('rq', 'grp', 'w2');
select ev_id, ev_retry, ev_type, ev_data from pgq.get_batch_events(2);
-- the whole batch again, from w2
select pgq.batch_retry(2, 0);
select pgq.batch_retry(2, 0);
select ev_owner, ev_id, ev_retry, ev_type from pgq.retry_queue order by ev_id;
select pgq_coop.finish_batch(2);
select pgq.batch_retry(2, 0);

-- a plain consumer and another group see each event once, and no retries
select pgq.next_batch('rq', 'plain');
select ev_id, ev_retry, ev_type from pgq.get_batch_events(3);
select pgq.finish_batch(3);
select pgq.next_batch('rq', 'plain');
select ev_id, ev_retry, ev_type from pgq.get_batch_events(4);
select pgq.finish_batch(4);
select pgq_coop.next_batch('rq', 'other', 'o1');
select ev_id, ev_retry, ev_type from pgq.get_batch_events(5);
select pgq_coop.finish_batch(5);

-- the retries come back to the group a second time, to w1 now
select pgq.maint_retry_events();
select pgq.ticker('rq');
select pgq_coop.next_batch('rq', 'grp', 'w1');
select ev_id, ev_retry, ev_type from pgq.get_batch_events(6);
select pgq_coop.finish_batch(6);
select pgq.next_batch('rq', 'plain');
select ev_id, ev_retry, ev_type from pgq.get_batch_events(7);
select pgq.finish_batch(7);

-- retry events put in by hand for the main consumer reach the group too
select pgq.event_retry_raw('rq', 'grp', now(), 100, '2001-01-01 00:00:00+00', 5, 'raw', 'data', 'x1', null, null, 'x4');
select pgq.event_retry_raw('rq', 'grp.w2', now(), null, '2001-01-01 00:00:00+00', null, 'raw-sub', 'data', null, null, null, null);
select pgq.event_retry_raw('rq', 'nobody', now(), null, now(), null, 'x', 'x', null, null, null, null);
select ev_owner, ev_id, ev_retry, ev_type from pgq.retry_queue order by ev_id;
select pgq.maint_retry_events();
select pgq.ticker('rq');
select pgq_coop.next_batch('rq', 'grp', 'w2');
select ev_id, ev_time, ev_retry, ev_type, ev_data, ev_extra1, ev_extra4 from pgq.get_batch_events(8);
select pgq_coop.finish_batch(8);

-- retry events pending when the group leaves are dropped with it
select pgq.insert_event('rq', 'e5', 'five');
select pgq.ticker('rq');
select pgq_coop.next_batch('rq', 'grp', 'w1');
select pgq.batch_retry(9, 3600);
select count(*) from pgq.retry_queue;
-- (not when just one subconsumer leaves)
select pgq_coop.unregister_subconsumer('rq', 'grp', 'w1', 1);
select count(*) from pgq.retry_queue;
select pgq.unregister_consumer('rq', 'grp.w2');
select count(*) from pgq.retry_queue;
select pgq.unregister_consumer('rq', 'grp');
select count(*) from pgq.retry_queue;
select * from subs order by co_name;
