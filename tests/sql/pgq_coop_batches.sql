-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Handing batches out to subconsumers: the main consumer moves as soon as a
-- batch is handed out, so several subconsumers work at once and may finish
-- in any order.
create temp view subs as
select c.co_name, s.sub_id, s.sub_last_tick, s.sub_batch, s.sub_next_tick
  from pgq.subscription s
  join pgq.queue q on q.queue_id = s.sub_queue
  join pgq.consumer c on c.co_id = s.sub_consumer
 where q.queue_name = 'bq';

select pgq.create_queue('bq');
-- every ticker call ticks
update pgq.queue set queue_ticker_max_count = 1, queue_ticker_max_lag = '0',
                     queue_ticker_idle_period = '0'
 where queue_name = 'bq';
select pgq_coop.register_subconsumer('bq', 'grp', 'w1');
select pgq_coop.register_subconsumer('bq', 'grp', 'w2');

-- no tick since the registration: nothing to do, nothing changes
select pgq_coop.next_batch('bq', 'grp', 'w1');
select * from subs order by co_name;

select pgq.insert_event('bq', 'e1', 'one');
select pgq.insert_event('bq', 'e2', 'two');
select pgq.ticker('bq');
select pgq.insert_event('bq', 'e3', 'three');
select pgq.ticker('bq');
select pgq.insert_event('bq', 'e4', 'four');
select pgq.insert_event('bq', 'e5', 'five');
select pgq.ticker('bq');

-- w1 takes the first batch; the main consumer is already past it
select pgq_coop.next_batch('bq', 'grp', 'w1');
select * from subs order by co_name;
-- asking again returns the batch held
select pgq_coop.next_batch('bq', 'grp', 'w1');
select pgq_coop.next_batch('bq', 'grp', 'w1', '1 hour');
select pgq_coop.next_batch_custom('bq', 'grp', 'w1', '1 hour', 100, '1 hour');
select * from subs order by co_name;

-- meanwhile w2 takes the next one
select pgq_coop.next_batch('bq', 'grp', 'w2');
select * from subs order by co_name;

-- the batches are ordinary pgq batches
select ev_id, ev_retry, ev_type, ev_data from pgq.get_batch_events(1);
select ev_id, ev_retry, ev_type, ev_data from pgq.get_batch_events(2);
select queue_name, consumer_name, prev_tick_id, tick_id, seq_start, seq_end
  from pgq.get_batch_info(1);
select queue_name, consumer_name, prev_tick_id, tick_id, seq_start, seq_end
  from pgq.get_batch_info(2);
select * from pgq.batch_event_tables(2);
begin;
select ev_id, ev_type from pgq.get_batch_cursor(1, 'bc', 10, 'ev_type <> ''e1''');
close bc;
commit;
select queue_name, consumer_name, last_tick, current_batch, next_tick, pending_events
  from pgq.get_consumer_info('bq') order by 2;

-- w2 finishes before w1
select pgq_coop.finish_batch(2);
select * from subs order by co_name;
select pgq_coop.finish_batch(2);
select pgq_coop.finish_batch(12345);
select pgq_coop.finish_batch(null);
select count(*) from pgq.get_batch_events(2);

-- w2 goes on with the third batch; a new subconsumer registers itself and
-- finds nothing left
select pgq_coop.next_batch('bq', 'grp', 'w2');
select pgq_coop.next_batch('bq', 'grp', 'w3');
select pgq_coop.next_batch('bq', 'grp', 'w3');
select * from subs order by co_name;
select ev_id, ev_type from pgq.get_batch_events(3);
select pgq_coop.finish_batch(3);
select pgq_coop.finish_batch(1);
select * from subs order by co_name;

-- a whole group registers itself on its first next_batch
select pgq_coop.next_batch('bq', 'auto', 'a1');
select pgq_coop.next_batch_custom('bq', 'auto', 'a2', null, null, null);
select pgq_coop.next_batch_custom('bq', 'auto2', 'a1', null, null, null, null);
select pgq_coop.next_batch('bq', 'auto3', 'a1', '1 second');
select co_name, sub_id, sub_last_tick, sub_batch, sub_next_tick from subs
 where co_name like 'auto%' order by co_name;

-- tuning: batch size and age, as in pgq.next_batch_custom
select pgq.insert_event('bq', 'e6', 'six');
select pgq.ticker('bq');
select pgq.insert_event('bq', 'e7', 'seven');
select pgq.ticker('bq');
select pgq.insert_event('bq', 'e8', 'eight');
select pgq.insert_event('bq', 'e9', 'nine');
select pgq.ticker('bq');
select pgq.insert_event('bq', 'e10', 'ten');
select pgq.insert_event('bq', 'e11', 'eleven');
select pgq.insert_event('bq', 'e12', 'twelve');
select pgq.ticker('bq');
-- not old enough, not long enough, not enough events: no batch, no change
select pgq_coop.next_batch_custom('bq', 'grp', 'w1', '1 hour', null, null);
select pgq_coop.next_batch_custom('bq', 'grp', 'w1', null, null, '1 hour');
select pgq_coop.next_batch_custom('bq', 'grp', 'w1', null, 100, null);
select pgq_coop.next_batch_custom('bq', 'grp', 'w1', null, 100, null, '1 hour');
select * from subs where co_name like 'grp%' order by co_name;
-- at least two events: the first tick that has them
select pgq_coop.next_batch_custom('bq', 'grp', 'w1', null, 2, null);
select * from subs where co_name like 'grp%' order by co_name;
select ev_id, ev_type from pgq.get_batch_events(4);
-- old enough (no lag wanted): one tick
select pgq_coop.next_batch_custom('bq', 'grp', 'w2', '0', null, null);
select ev_id, ev_type from pgq.get_batch_events(5);
-- enough events or time, whichever first
select pgq_coop.next_batch_custom('bq', 'grp', 'w3', null, 1, '1 hour', '1 hour');
select ev_id, ev_type from pgq.get_batch_events(6);
select * from subs where co_name like 'grp%' order by co_name;
select pgq_coop.finish_batch(4);
select pgq_coop.finish_batch(5);
select pgq_coop.finish_batch(6);
select pgq_coop.next_batch_custom('bq', 'grp', 'w3', null, 1, null);

-- the main consumer used with plain pgq: the group stops until that batch
-- is finished
select pgq.insert_event('bq', 'e13', 'thirteen');
select pgq.ticker('bq');
select pgq.next_batch('bq', 'grp');
select pgq_coop.next_batch('bq', 'grp', 'w1');
select pgq_coop.next_batch('bq', 'grp', 'w1', '1 hour');
select pgq_coop.next_batch('bq', 'grp', 'new');
select * from subs where co_name like 'grp%' order by co_name;
select pgq.finish_batch(7);
select pgq_coop.next_batch('bq', 'grp', 'w1');
select * from subs where co_name like 'grp%' order by co_name;

-- a subconsumer's batch can be finished with plain pgq too: it then looks
-- like a main consumer positioned at the batch's end
select pgq.insert_event('bq', 'e14', 'fourteen');
select pgq.ticker('bq');
select pgq_coop.next_batch('bq', 'grp', 'w1');
select pgq.finish_batch(8);
select * from subs where co_name like 'grp%' order by co_name;

-- errors
select pgq_coop.next_batch('nope', 'grp', 'w1');
select pgq_coop.next_batch(null, 'grp', 'w1');
select pgq_coop.next_batch('bq', 'grp', null);
select pgq_coop.next_batch('bq', null, 'w1');
select pgq_coop.next_batch_custom('nope', 'grp', 'w1', null, null, null);
select pgq_coop.next_batch_custom('nope', 'grp', 'w1', null, null, null, '1 hour');
