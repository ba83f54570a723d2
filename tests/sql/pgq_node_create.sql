-- pgq_node node types: create_node for root, branch, leaf and merge leaf,
-- every refusal, and what get_node_info, get_worker_state, is_root_node and
-- is_leaf_node report for each.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

select * from pgq_node.register_location('rq', 'root1', 'dbname=root1', false);
select * from pgq_node.register_location('rq', 'br1', 'dbname=br1', false);

-- root: refused extra arguments
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', 'br1', null, null);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, 5, null);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, 'cq');
select count(*) from pgq.queue;
-- the node's location must be known
select * from pgq_node.create_node('rq', 'root', 'nowhere', 'rw', null, null, null);
select count(*) from pgq.queue;
-- a worker is required (checked by the table)
select * from pgq_node.create_node('rq', 'root', 'root1', null, null, null, null);
-- unknown or missing types are refused by the table's checks
select * from pgq_node.create_node('rq', 'trunk', 'root1', 'rw', null, null, null);
select * from pgq_node.create_node('rq', null, 'root1', 'rw', null, null, null);
select * from pgq_node.create_node('rq', 'ROOT', 'root1', 'rw', null, null, null);

select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, null);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, null);
select * from pgq_node.create_node('rq', 'branch', 'br1', 'bw', 'root1', 1, null);
select queue_name, queue_external_ticker, queue_disable_insert, queue_ticker_paused
  from pgq.queue order by 1;
select queue_name, consumer_name, last_tick from pgq.get_consumer_info() order by 1, 2;
select * from pgq_node.node_info order by queue_name;
select * from pgq_node.local_state order by queue_name, consumer_name;
select * from pgq_node.get_node_info('rq');
select * from pgq_node.get_worker_state('rq');
select pgq_node.is_root_node('rq'), pgq_node.is_leaf_node('rq');

-- the root's worker_last_tick is the queue top, not the worker's position
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = 'rq';
select pgq.ticker('rq');
select pgq.ticker('rq');
select worker_last_tick, local_watermark, global_watermark from pgq_node.get_node_info('rq');
select completed_tick, local_watermark, global_watermark, local_queue_top from pgq_node.get_worker_state('rq');
-- a plain consumer behind everybody holds the local watermark
select pgq.register_consumer_at('rq', 'slow', 2);
select local_watermark, global_watermark from pgq_node.get_node_info('rq');
select pgq.unregister_consumer('rq', 'slow');
select local_watermark, global_watermark from pgq_node.get_node_info('rq');

-- branch: refusals
select * from pgq_node.register_location('bq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('bq', 'me', 'dbname=me', false);
select * from pgq_node.create_node('bq', 'branch', 'me', 'bw', null, 7, null);
select * from pgq_node.create_node('bq', 'branch', 'me', 'bw', 'up', null, null);
select * from pgq_node.create_node('bq', 'branch', 'me', 'bw', 'up', 7, 'rq');
select * from pgq_node.create_node('bq', 'branch', 'me', 'bw', 'unknown', 7, null);
select count(*) from pgq.queue where queue_name = 'bq';
-- branch: the queue starts at the global watermark, ticks come from outside
select * from pgq_node.create_node('bq', 'branch', 'me', 'bw', 'up', 7, null);
select queue_external_ticker, queue_disable_insert from pgq.queue where queue_name = 'bq';
select t.tick_id, t.tick_event_seq from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
 where q.queue_name = 'bq' order by 1;
select queue_name, consumer_name, last_tick from pgq.get_consumer_info('bq');
select * from pgq_node.get_node_info('bq');
select * from pgq_node.get_worker_state('bq');
select pgq_node.is_root_node('bq'), pgq_node.is_leaf_node('bq');
select pgq.insert_event('bq', 'x', 'y');
select pgq.ticker('bq');
-- ticks copied from the provider
select pgq.ticker('bq', 8, now(), 20);
select local_queue_top, local_watermark, global_watermark from pgq_node.get_worker_state('bq');
-- a branch at watermark 1 keeps the queue's own first tick
select * from pgq_node.register_location('b1q', 'up', 'dbname=up', false);
select * from pgq_node.register_location('b1q', 'me', 'dbname=me', false);
select * from pgq_node.create_node('b1q', 'branch', 'me', 'bw', 'up', 1, null);
select t.tick_id from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
 where q.queue_name = 'b1q' order by 1;
-- a watermark that is no tick cannot be used
select * from pgq_node.register_location('b0q', 'up', 'dbname=up', false);
select * from pgq_node.register_location('b0q', 'me', 'dbname=me', false);
select * from pgq_node.create_node('b0q', 'branch', 'me', 'bw', 'up', 0, null);
select count(*) from pgq.queue where queue_name = 'b0q';

-- plain leaf: no queue
select * from pgq_node.register_location('lq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('lq', 'leaf1', 'dbname=leaf1', false);
select * from pgq_node.create_node('lq', 'leaf', 'leaf1', 'lw', 'up', 12, null);
select count(*) from pgq.queue where queue_name = 'lq';
select * from pgq_node.get_node_info('lq');
select * from pgq_node.get_worker_state('lq');
select pgq_node.is_root_node('lq'), pgq_node.is_leaf_node('lq');
-- leaf without provider or watermark: refused by the tables
select * from pgq_node.register_location('l2q', 'leaf2', 'dbname=leaf2', false);
select * from pgq_node.create_node('l2q', 'leaf', 'leaf2', 'lw', null, 12, null);
select * from pgq_node.create_node('l2q', 'leaf', 'leaf2', 'lw', 'leaf2', null, null);
select * from pgq_node.create_node('l2q', 'leaf', 'leaf2', null, 'leaf2', 1, null);

-- merge leaf: the combined queue must exist here
select * from pgq_node.register_location('part1', 'up', 'dbname=up', false);
select * from pgq_node.register_location('part1', 'm1', 'dbname=m1', false);
select * from pgq_node.create_node('part1', 'leaf', 'm1', 'mw', 'up', 3, 'nosuchq');
select * from pgq_node.create_node('part1', 'leaf', 'm1', 'mw', 'up', 3, 'rq');
select * from pgq_node.register_location('part2', 'up', 'dbname=up', false);
select * from pgq_node.register_location('part2', 'm1', 'dbname=m1', false);
select * from pgq_node.create_node('part2', 'leaf', 'm1', 'mw2', 'up', 4, 'rq');
select * from pgq_node.get_node_info('part1');
select * from pgq_node.get_worker_state('part1');
-- the combined root lists its parts
select node_type, target_for from pgq_node.get_node_info('rq');
select node_type, target_for from pgq_node.get_node_info('bq');
-- a combined queue that is a plain pgq queue: no node behind it
select pgq.create_queue('plainq');
select * from pgq_node.register_location('part3', 'm1', 'dbname=m1', false);
select * from pgq_node.create_node('part3', 'leaf', 'm1', 'mw3', 'm1', 1, 'plainq');
select combined_queue, combined_type from pgq_node.get_node_info('part3');
select ret_code, ret_note, combined_queue, combined_type from pgq_node.get_worker_state('part3');
select node_type, target_for from pgq_node.get_node_info('plainq');

-- unknown queue: a 404 row, not an error
select * from pgq_node.get_node_info('nosuchq');
select * from pgq_node.get_node_info(null);
select * from pgq_node.get_worker_state('nosuchq');
select pgq_node.is_root_node('nosuchq');
select pgq_node.is_leaf_node('nosuchq');
select pgq_node.is_root_node(null);

-- get_worker_state's other 404s
update pgq_node.node_info set worker_name = 'ghost' where queue_name = 'lq';
select ret_code, ret_note from pgq_node.get_worker_state('lq');
select ret_code, ret_note, worker_name, worker_last_tick from pgq_node.get_node_info('lq');
update pgq_node.node_info set worker_name = 'lw' where queue_name = 'lq';
alter table pgq_node.local_state drop constraint local_state_queue_name_provider_node_fkey;
update pgq_node.local_state set provider_node = 'gone' where queue_name = 'lq';
select ret_code, ret_note, provider_node, provider_location from pgq_node.get_worker_state('lq');
select ret_code, ret_note, provider_node, provider_location from pgq_node.get_node_info('lq');

select * from pgq_node.node_info order by queue_name;
select * from pgq_node.local_state order by queue_name, consumer_name;
