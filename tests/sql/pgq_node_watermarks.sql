-- pgq_node watermarks: set_global_watermark on each node type and the
-- pgq.global-watermark event, maint_watermark and its place in
-- pgq.maint_operations, set_partition_watermark for merge leaves,
-- set_node_attrs.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

-- the events in a queue's data tables, in order
create function pg_temp.events(q text)
returns table (ev_id bigint, ev_type text, ev_data text,
               ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
language plpgsql as $$
begin
    return query execute format(
        'select ev_id, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4 from %s order by ev_id',
        (select queue_data_pfx from pgq.queue where queue_name = q));
end $$;

-- root with one subscriber
select * from pgq_node.register_location('wq', 'root', 'dbname=root', false);
select * from pgq_node.register_location('wq', 'sub', 'dbname=sub', false);
select * from pgq_node.create_node('wq', 'root', 'root', 'root_worker', null, null, null);
select * from pgq_node.register_subscriber('wq', 'sub', 'sub_worker', null);
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = 'wq';
select pgq.ticker('wq');
select pgq.ticker('wq');
select pgq.ticker('wq');
select pgq.ticker('wq');

-- NULL: publish the local watermark, which the subscriber holds at 1
select * from pgq_node.set_global_watermark('wq', null);
select * from pgq_node.set_subscriber_watermark('wq', 'sub', 3);
select pgq.register_consumer_at('wq', 'sub_worker', 4);
select local_watermark, global_watermark from pgq_node.get_node_info('wq');
select * from pgq_node.set_global_watermark('wq', null);
select local_watermark, global_watermark from pgq_node.get_node_info('wq');
select * from pgq_node.get_consumer_state('wq', 'root_worker');
-- explicit value: taken as is, even backwards
select * from pgq_node.set_global_watermark('wq', 4);
select * from pgq_node.set_global_watermark('wq', 2);
select * from pgq_node.set_global_watermark('wq', 77);
select consumer_name, last_tick from pgq.get_consumer_info('wq') order by 1;
select completed_tick from pgq_node.get_consumer_state('wq', 'root_worker');
select * from pg_temp.events('wq');
select * from pgq_node.set_global_watermark('nosuchq', null);
select * from pgq_node.set_global_watermark(null, 5);

-- maint_watermark: only on a root, only when the watermark is 5 minutes old
select pgq_node.maint_watermark('wq');
select count(*) from pg_temp.events('wq');
update pgq.tick set tick_time = tick_time - interval '6 minutes'
 where tick_queue = (select queue_id from pgq.queue where queue_name = 'wq') and tick_id = 2;
select pgq_node.maint_watermark('wq');
select * from pg_temp.events('wq') order by ev_id desc limit 1;
select global_watermark from pgq_node.get_node_info('wq');
select pgq_node.maint_watermark('wq');
select count(*) from pg_temp.events('wq');
select pgq_node.maint_watermark('nosuchq');
select pgq_node.maint_watermark(null);

-- branch: applies values from the events; ticks it does not have are skipped
select * from pgq_node.register_location('bq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('bq', 'me', 'dbname=me', false);
select * from pgq_node.create_node('bq', 'branch', 'me', 'me_worker', 'up', 10, null);
select pgq.ticker('bq', 11, now(), 3);
select pgq.ticker('bq', 12, now(), 6);
select * from pgq_node.set_global_watermark('bq', null);
select * from pgq_node.set_global_watermark('bq', 9);
select * from pgq_node.set_global_watermark('bq', 13);
select * from pgq_node.set_global_watermark('bq', 11);
select consumer_name, last_tick from pgq.get_consumer_info('bq') order by 1;
select global_watermark, local_watermark from pgq_node.get_worker_state('bq');
select completed_tick from pgq_node.get_worker_state('bq');
-- not a root: maint does nothing
update pgq.tick set tick_time = tick_time - interval '1 hour'
 where tick_queue = (select queue_id from pgq.queue where queue_name = 'bq');
select pgq_node.maint_watermark('bq');
select global_watermark from pgq_node.get_worker_state('bq');

-- leaf: nothing to keep
select * from pgq_node.register_location('lq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('lq', 'leaf', 'dbname=leaf', false);
select * from pgq_node.create_node('lq', 'leaf', 'leaf', 'leaf_worker', 'up', 4, null);
select * from pgq_node.set_global_watermark('lq', 5);
select * from pgq_node.set_global_watermark('lq', null);
select pgq_node.maint_watermark('lq');

-- pgqd's list: maint_watermark for every root queue, and only those
select pgq.create_queue('plainq');
select * from pgq_node.register_location('rq2', 'r', 'dbname=r', false);
select * from pgq_node.create_node('rq2', 'root', 'r', 'r_worker', null, null, null);
select func_name, func_arg from pgq.maint_operations()
 where func_name like 'pgq_node.%' order by 2;

-- a root without ticks has no local watermark to publish
delete from pgq.subscription
 where sub_queue = (select queue_id from pgq.queue where queue_name = 'rq2');
delete from pgq.tick
 where tick_queue = (select queue_id from pgq.queue where queue_name = 'rq2');
select * from pgq_node.set_global_watermark('rq2', null);

-- merge leaves on a combined branch: their position is set from the
-- combined queue's tick-id events
select * from pgq_node.register_location('part', 'up', 'dbname=up', false);
select * from pgq_node.register_location('part', 'me', 'dbname=me', false);
select * from pgq_node.create_node('part', 'leaf', 'me', 'part_worker', 'up', 3, 'bq');
select * from pgq_node.set_partition_watermark('bq', 'part', 8);
select completed_tick from pgq_node.get_worker_state('part');
select * from pgq_node.set_partition_watermark('bq', 'nosuchq', 8);
select * from pgq_node.set_partition_watermark('nosuchq', 'part', 8);
select * from pgq_node.set_partition_watermark('wq', 'part', 8);
-- a part leaf of a combined root: nothing to do here
select * from pgq_node.register_location('part2', 'me', 'dbname=me', false);
select * from pgq_node.create_node('part2', 'leaf', 'me', 'part2_worker', 'me', 1, 'wq');
select * from pgq_node.set_partition_watermark('wq', 'part2', 8);
-- the part's worker is not registered
select * from pgq_node.unregister_consumer('part', 'part_worker');
select * from pgq_node.set_partition_watermark('bq', 'part', 9);
select * from pgq_node.register_consumer('part', 'part_worker', 'up', 3);
select * from pgq_node.set_partition_watermark('bq', 'part', null);

-- node attributes
select * from pgq_node.set_node_attrs('bq', 'sync_watermark=n4,n5');
select node_attrs from pgq_node.get_node_info('bq');
select * from pgq_node.set_node_attrs('bq', null);
select node_attrs from pgq_node.get_node_info('bq');
select * from pgq_node.set_node_attrs('nosuchq', 'a=1');

select * from pgq_node.local_state order by queue_name, consumer_name;
