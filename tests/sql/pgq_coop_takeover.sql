-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Dead subconsumers: with a dead interval, next_batch removes one other
-- subconsumer of the group that has been silent that long, and takes over the
-- batch it held.
create temp view subs as
select q.queue_name, c.co_name, s.sub_id, s.sub_last_tick, s.sub_batch, s.sub_next_tick
  from pgq.subscription s
  join pgq.queue q on q.queue_id = s.sub_queue
  join pgq.consumer c on c.co_id = s.sub_consumer;

select pgq.create_queue('tq');
update pgq.queue set queue_ticker_max_count = 1, queue_ticker_max_lag = '0',
                     queue_ticker_idle_period = '0'
 where queue_name = 'tq';
select pgq_coop.register_subconsumer('tq', 'grp', 'w1');
select pgq_coop.register_subconsumer('tq', 'grp', 'w2');
select pgq_coop.register_subconsumer('tq', 'grp', 'w3');
-- another group on the same queue
select pgq_coop.register_subconsumer('tq', 'other', 'o1');

select pgq.insert_event('tq', 'e1', '1');
select pgq.ticker('tq');
select pgq.insert_event('tq', 'e2', '2');
select pgq.ticker('tq');
select pgq.insert_event('tq', 'e3', '3');
select pgq.ticker('tq');

select pgq_coop.next_batch('tq', 'grp', 'w1');
select pgq_coop.next_batch('tq', 'grp', 'w2');
select pgq_coop.next_batch('tq', 'other', 'o1');

-- nobody has been silent for an hour: w3 simply gets the next batch
select pgq_coop.next_batch('tq', 'grp', 'w3', '1 hour');
select * from subs order by queue_name, co_name;
select pgq_coop.finish_batch(4);

-- w1 goes silent while holding batch 1
update pgq.subscription set sub_active = '2005-01-01'
 where sub_batch = 1;
-- a subconsumer holding a batch returns it, dead interval or not
select pgq_coop.next_batch('tq', 'grp', 'w2', '1 hour');
-- without a dead interval nothing is taken over
select pgq_coop.next_batch('tq', 'grp', 'w3');
select pgq_coop.next_batch_custom('tq', 'grp', 'w3', null, null, null);
select pgq_coop.next_batch_custom('tq', 'grp', 'w3', null, null, null, null);
select * from subs order by queue_name, co_name;
-- an interval longer than the silence takes nothing over either
select pgq_coop.next_batch('tq', 'grp', 'w3', '100 years');
-- w3 takes w1's batch, with its ticks; w1 is gone
select pgq_coop.next_batch('tq', 'grp', 'w3', '1 hour');
select * from subs order by queue_name, co_name;
select queue_name, consumer_name, prev_tick_id, tick_id from pgq.get_batch_info(1);
select ev_id, ev_type from pgq.get_batch_events(1);
select pgq_coop.next_batch('tq', 'grp', 'w3', '1 hour');
select pgq_coop.finish_batch(1);
select * from subs order by queue_name, co_name;

-- the main consumer is never taken for dead, nor is another group's
-- subconsumer, nor the caller itself
update pgq.subscription set sub_active = '2005-01-01'
 where sub_consumer in (select co_id from pgq.consumer where co_name in ('grp', 'other.o1', 'grp.w3'));
select pgq_coop.next_batch('tq', 'grp', 'w3', '1 hour');
select * from subs order by queue_name, co_name;

-- a dead idle subconsumer is removed, and the caller gets a new batch
select pgq.insert_event('tq', 'e4', '4');
select pgq.ticker('tq');
select pgq_coop.register_subconsumer('tq', 'grp', 'idle');
update pgq.subscription set sub_active = '2005-01-01'
 where sub_consumer = (select co_id from pgq.consumer where co_name = 'grp.idle');
select pgq_coop.next_batch('tq', 'grp', 'w3', '1 hour');
select * from subs order by queue_name, co_name;
select ev_id, ev_type from pgq.get_batch_events(5);
select pgq_coop.finish_batch(5);

-- the same through next_batch_custom: taking over comes before tuning
select pgq.insert_event('tq', 'e5', '5');
select pgq.ticker('tq');
select pgq_coop.next_batch('tq', 'grp', 'w4');
update pgq.subscription set sub_active = '2005-01-01'
 where sub_consumer = (select co_id from pgq.consumer where co_name = 'grp.w4');
select pgq_coop.next_batch_custom('tq', 'grp', 'w5', '1 hour', 100, '1 hour', '1 day');
select * from subs order by queue_name, co_name;
select ev_id, ev_type from pgq.get_batch_events(6);
select pgq_coop.finish_batch(6);

-- a subconsumer taken for dead that comes back is registered anew
select pgq_coop.next_batch('tq', 'grp', 'w4');
select pgq_coop.finish_batch(6);
select * from subs order by queue_name, co_name;

-- w2 never came back: its batch is still there for a living subconsumer
update pgq.subscription set sub_active = '2005-01-01'
 where sub_batch = 2;
select pgq_coop.next_batch('tq', 'grp', 'w4', '1 minute');
select ev_id, ev_type from pgq.get_batch_events(2);
select pgq_coop.finish_batch(2);
select * from subs order by queue_name, co_name;
