-- pgq_node provider side: register_subscriber, unregister_subscriber,
-- set_subscriber_watermark, get_subscriber_info, and the pgq consumers they
-- keep on the provider's queue.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

select * from pgq_node.register_location('sq', 'p', 'dbname=p', false);
select * from pgq_node.register_location('sq', 's1', 'dbname=s1', false);
select * from pgq_node.register_location('sq', 's2', 'dbname=s2', false);
select * from pgq_node.register_location('sq', 's3', 'dbname=s3', false);

-- no node yet
select * from pgq_node.register_subscriber('sq', 's1', 's1_worker', null);
select * from pgq_node.unregister_subscriber('sq', 's1');
select * from pgq_node.get_subscriber_info('sq');

select * from pgq_node.create_node('sq', 'root', 'p', 'p_worker', null, null, null);
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = 'sq';
select pgq.ticker('sq');
select pgq.ticker('sq');
select pgq.ticker('sq');

-- the watermark consumer starts at the global watermark, the worker there
-- too unless a tick is given (provider change)
select * from pgq_node.register_subscriber('sq', 's1', 's1_worker', null);
select * from pgq_node.register_subscriber('sq', 's2', 's2_worker', 3);
select * from pgq_node.register_subscriber('sq', 's3', 's3_worker', 99);
select queue_name, consumer_name, last_tick from pgq.get_consumer_info('sq') order by 2;
select * from pgq_node.subscriber_info order by subscriber_node;
select * from pgq_node.get_subscriber_info('sq');
-- subscribing twice is an error
select * from pgq_node.register_subscriber('sq', 's1', 's1_worker', null);
-- the subscriber's node must be a member
select * from pgq_node.register_subscriber('sq', 'stranger', 'x_worker', null);
select count(*) from pgq.get_consumer_info('sq', 'x_worker');

-- set_subscriber_watermark: forward only
select * from pgq_node.set_subscriber_watermark('sq', 's1', 1);
select * from pgq_node.set_subscriber_watermark('sq', 's1', 3);
select * from pgq_node.set_subscriber_watermark('sq', 's1', 3);
select * from pgq_node.set_subscriber_watermark('sq', 's1', 2);
select * from pgq_node.set_subscriber_watermark('sq', 's1', 50);
select * from pgq_node.set_subscriber_watermark('sq', 's1', null);
select * from pgq_node.set_subscriber_watermark('sq', 'nobody', 3);
select * from pgq_node.set_subscriber_watermark('nosuchq', 's1', 3);
select * from pgq_node.get_subscriber_info('sq');
-- the node's local watermark is the lowest of them all
select local_watermark, global_watermark from pgq_node.get_node_info('sq');
select * from pgq_node.set_subscriber_watermark('sq', 's2', 4);
select * from pgq_node.set_subscriber_watermark('sq', 's1', 4);
select local_watermark from pgq_node.get_node_info('sq');

-- the subscriber's worker reads its batches from here
select pgq.next_batch('sq', 's2_worker') is not null as got_batch;
select tick_id, prev_tick_id from pgq.get_batch_info(
    (select current_batch from pgq.get_consumer_info('sq', 's2_worker')));

-- unregister drops both consumers
select * from pgq_node.unregister_subscriber('sq', 's2');
select * from pgq_node.unregister_subscriber('sq', 's2');
select * from pgq_node.unregister_subscriber('sq', null);
select * from pgq_node.unregister_subscriber('nosuchq', 's1');
select consumer_name, last_tick from pgq.get_consumer_info('sq') order by 1;
select * from pgq_node.get_subscriber_info('sq');
-- and it can come back
select * from pgq_node.register_subscriber('sq', 's2', 's2_worker', null);
select consumer_name, last_tick from pgq.get_consumer_info('sq') order by 1;

-- a subscription whose watermark consumer vanished reports NULL
select * from pgq_node.register_subscriber('sq', 's3', 's3_worker', 4);
-- (the consumer row stays: subscriber_info refers to it)
delete from pgq.subscription
 where sub_consumer = (select co_id from pgq.consumer where co_name = '.s3.watermark');
select * from pgq_node.get_subscriber_info('sq');
select * from pgq_node.set_subscriber_watermark('sq', 's3', 4);
select * from pgq_node.unregister_subscriber('sq', 's3');

-- a branch serves subscribers too, from its copied ticks
select * from pgq_node.register_location('bq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('bq', 'mid', 'dbname=mid', false);
select * from pgq_node.register_location('bq', 'down', 'dbname=down', false);
select * from pgq_node.create_node('bq', 'branch', 'mid', 'mid_worker', 'up', 10, null);
select * from pgq_node.register_subscriber('bq', 'down', 'down_worker', null);
select pgq.ticker('bq', 11, now(), 5);
select * from pgq_node.set_subscriber_watermark('bq', 'down', 11);
select * from pgq_node.get_subscriber_info('bq');
select consumer_name, last_tick from pgq.get_consumer_info('bq') order by 1;

-- a leaf cannot be subscribed to
select * from pgq_node.register_location('lq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('lq', 'leaf', 'dbname=leaf', false);
select * from pgq_node.register_location('lq', 'below', 'dbname=below', false);
select * from pgq_node.create_node('lq', 'leaf', 'leaf', 'leaf_worker', 'up', 5, null);
select * from pgq_node.register_subscriber('lq', 'below', 'below_worker', null);
select * from pgq_node.get_subscriber_info('lq');

-- two subscribers sharing a worker name share its pgq consumer: dropping
-- one takes the consumer from under the other
select * from pgq_node.register_location('sq', 's4', 'dbname=s4', false);
select * from pgq_node.register_subscriber('sq', 's4', 's1_worker', null);
select * from pgq_node.unregister_subscriber('sq', 's4');

select * from pgq_node.subscriber_info order by queue_name, subscriber_node;
