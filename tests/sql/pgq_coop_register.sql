-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Registering and unregistering cooperative subconsumers: each is a pgq
-- consumer named '<main>.<sub>' sharing the main consumer's sub_id, idle
-- (both ticks NULL) until it gets a batch.
create temp view subs as
select q.queue_name, c.co_id, c.co_name, s.sub_id, s.sub_last_tick, s.sub_batch, s.sub_next_tick
  from pgq.subscription s
  join pgq.queue q on q.queue_id = s.sub_queue
  join pgq.consumer c on c.co_id = s.sub_consumer;

select pgq.create_queue('cq');

-- the main consumer is registered on the way; a repeat returns 0
select pgq_coop.register_subconsumer('cq', 'grp', 'w1');
select pgq_coop.register_subconsumer('cq', 'grp', 'w1');
select pgq_coop.register_subconsumer('cq', 'grp', 'w2');
select * from subs order by queue_name, co_name;

-- a main consumer registered with plain pgq keeps its registration
select pgq.register_consumer('cq', 'solo');
select pgq_coop.register_subconsumer('cq', 'solo', 'a');
select pgq_coop.register_subconsumer('cq', 'solo', 'b');
select * from subs order by queue_name, co_name;

-- the same names on another queue form a separate group
select pgq.create_queue('cq2');
select pgq_coop.register_subconsumer('cq2', 'grp', 'w1');
select * from subs order by queue_name, co_name;
select co_id, co_name from pgq.consumer order by co_id;

-- subconsumers show up in the consumer info with no position of their own
select queue_name, consumer_name, last_tick, current_batch, next_tick, pending_events
  from pgq.get_consumer_info() order by 1, 2;
select queue_name, consumer_name, last_tick from pgq.get_consumer_info('cq', 'grp.w2');

-- names are taken as they are: dots, spaces, quotes, case
select pgq_coop.register_subconsumer('cq', 'My "Grp"', 'sub.x y');
select pgq_coop.register_subconsumer('cq', 'My "Grp".sub', 'x y');
select * from subs where co_name like 'My%' order by co_name;

-- errors
select pgq_coop.register_subconsumer('nope', 'grp', 'w1');
select pgq_coop.register_subconsumer(null, 'grp', 'w1');
select pgq_coop.register_subconsumer('cq', 'grp', null);
select pgq_coop.register_subconsumer('cq', null, 'w1');
select pgq_coop.register_subconsumer('cq', null, null);
select pgq.create_queue('noticks');
delete from pgq.tick where tick_queue = (select queue_id from pgq.queue where queue_name = 'noticks');
select pgq_coop.register_subconsumer('noticks', 'grp', 'w1');
select count(*) from subs where queue_name = 'noticks';

-- a failed registration leaves nothing behind
select count(*) from pgq.consumer where co_name is null;
select * from subs order by queue_name, co_name;

-- unregistering an idle subconsumer removes its row only: the main consumer
-- and the name stay
select pgq_coop.unregister_subconsumer('cq', 'grp', 'w1', 0);
select pgq_coop.unregister_subconsumer('cq', 'grp', 'w1', 0);
select pgq_coop.unregister_subconsumer('cq', 'grp', 'zz', 1);
select pgq_coop.unregister_subconsumer('nope', 'grp', 'w2', 0);
select pgq_coop.unregister_subconsumer('cq', 'solo', 'b', 1);
select pgq_coop.unregister_subconsumer('cq', 'solo', 'a', null);
select pgq_coop.unregister_subconsumer(null, null, null, null);
select * from subs order by queue_name, co_name;
select co_id, co_name from pgq.consumer order by co_id;

-- registering again reuses the name and joins the group anew
select pgq_coop.register_subconsumer('cq', 'grp', 'w1');
select * from subs where queue_name = 'cq' order by co_name;

-- the other queue's group was not touched
select * from subs where queue_name = 'cq2' order by co_name;
