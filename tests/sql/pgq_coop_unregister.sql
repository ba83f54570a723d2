-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Leaving a group: unregister_subconsumer with and without closing a batch
-- held, and pgq.unregister_consumer on subconsumers and on the main consumer.
create temp view subs as
select q.queue_name, c.co_name, s.sub_id, s.sub_last_tick, s.sub_batch, s.sub_next_tick
  from pgq.subscription s
  join pgq.queue q on q.queue_id = s.sub_queue
  join pgq.consumer c on c.co_id = s.sub_consumer;

select pgq.create_queue('uq');
update pgq.queue set queue_ticker_max_count = 1, queue_ticker_max_lag = '0',
                     queue_ticker_idle_period = '0'
 where queue_name = 'uq';
select pgq_coop.register_subconsumer('uq', 'grp', 'w1');
select pgq_coop.register_subconsumer('uq', 'grp', 'w2');
select pgq.insert_event('uq', 'e1', '1');
select pgq.ticker('uq');
select pgq.insert_event('uq', 'e2', '2');
select pgq.ticker('uq');
select pgq_coop.next_batch('uq', 'grp', 'w1');

-- a subconsumer holding a batch stays unless told to drop the batch
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w1', 0);
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w1', 2);
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w1', -1);
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w1', null);
select * from subs order by queue_name, co_name;
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w1', 1);
select * from subs order by queue_name, co_name;
-- the dropped batch is gone, and the group does not see its events again
select pgq_coop.finish_batch(1);
select count(*) from pgq.get_batch_events(1);
select pgq_coop.next_batch('uq', 'grp', 'w2');
select ev_id, ev_type from pgq.get_batch_events(2);
select pgq_coop.finish_batch(2);
select pgq_coop.next_batch('uq', 'grp', 'w2');
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w1', 1);
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w2', 1);
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w2', 0);
-- the main consumer stays, and so do the names
select * from subs order by queue_name, co_name;
select co_id, co_name from pgq.consumer order by co_id;

-- pgq.unregister_consumer on a subconsumer removes that row only, whether
-- idle or busy
select pgq_coop.register_subconsumer('uq', 'grp', 'w1');
select pgq_coop.register_subconsumer('uq', 'grp', 'w2');
select pgq_coop.register_subconsumer('uq', 'grp', 'w3');
select pgq.insert_event('uq', 'e3', '3');
select pgq.ticker('uq');
select pgq.insert_event('uq', 'e4', '4');
select pgq.ticker('uq');
select pgq_coop.next_batch('uq', 'grp', 'w1');
select pgq_coop.next_batch('uq', 'grp', 'w3');
select * from subs order by queue_name, co_name;
select pgq.unregister_consumer('uq', 'grp.w2');
select pgq.unregister_consumer('uq', 'grp.w1');
select pgq.unregister_consumer('uq', 'grp.w1');
select * from subs order by queue_name, co_name;
select co_id, co_name from pgq.consumer order by co_id;

-- pgq.unregister_consumer on the main consumer removes the whole group,
-- batches held and retry events included; the count covers every row
select pgq.event_retry(4, 4, 0);
select count(*) from pgq.retry_queue;
select pgq_coop.register_subconsumer('uq', 'grp', 'w4');
select pgq.register_consumer('uq', 'bystander');
select pgq.unregister_consumer('uq', 'grp');
select * from subs order by queue_name, co_name;
select count(*) from pgq.retry_queue;
select co_id, co_name from pgq.consumer order by co_id;
select pgq_coop.finish_batch(4);
select pgq.unregister_consumer('uq', 'grp');
select pgq_coop.unregister_subconsumer('uq', 'grp', 'w3', 0);

-- a group on two queues: leaving one keeps the other
select pgq.create_queue('uq2');
select pgq_coop.register_subconsumer('uq', 'grp', 'w1');
select pgq_coop.register_subconsumer('uq2', 'grp', 'w1');
select pgq.unregister_consumer('uq2', 'grp');
select * from subs order by queue_name, co_name;
select co_id, co_name from pgq.consumer order by co_id;

-- a queue with a group on it is dropped only by force
select pgq.drop_queue('uq2');
select pgq.drop_queue('uq');
select pgq.drop_queue('uq', true);
select * from subs order by queue_name, co_name;
