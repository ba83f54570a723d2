-- pgq_node switchover and failover building blocks: demote_root's three
-- steps (in order, repeated, out of order, bad step numbers), promote_branch,
-- and a demoted root continuing as a branch of the new root.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

create function pg_temp.ticks(q text) returns table (tick_id bigint, tick_event_seq bigint)
language sql as $$
    select t.tick_id, t.tick_event_seq from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
     where q.queue_name = $1 order by 1
$$;
create function pg_temp.queue_state(q text)
returns table (disable_insert bool, external_ticker bool, last_tick bigint, tick_seq bigint)
language sql as $$
    select q.queue_disable_insert, q.queue_external_ticker,
           (select max(t.tick_id) from pgq.tick t where t.tick_queue = q.queue_id),
           pgq.seq_getval(q.queue_tick_seq)
      from pgq.queue q where q.queue_name = $1
$$;

-- the old root A of queue tq, with B as a subscriber
select * from pgq_node.register_location('tq', 'A', 'dbname=a', false);
select * from pgq_node.register_location('tq', 'B', 'dbname=b', false);
select * from pgq_node.register_location('tq', 'C', 'dbname=c', false);
select * from pgq_node.create_node('tq', 'root', 'A', 'A_worker', null, null, null);
select * from pgq_node.register_subscriber('tq', 'B', 'B_worker', null);
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = 'tq';
select pgq.insert_event('tq', 'data', 'one');
select pgq.ticker('tq');
select pgq.insert_event('tq', 'data', 'two');
select pgq.ticker('tq');

-- unknown queue, bad steps before anything was done
select * from pgq_node.demote_root('nosuchq', 1, 'B');
select * from pgq_node.demote_root('tq', 2, 'B');
select * from pgq_node.demote_root('tq', 3, 'B');
select * from pgq_node.demote_root('tq', 4, 'B');
select * from pgq_node.demote_root('tq', 0, 'B');
select * from pgq_node.demote_root('tq', -1, 'B');
select * from pgq_node.demote_root('tq', null, 'B');
select * from pg_temp.queue_state('tq');

-- step 1: no more writes, no more own ticks; repeatable
select * from pgq_node.demote_root('tq', 1, 'B');
select * from pgq_node.demote_root('tq', 1, 'B');
select * from pg_temp.queue_state('tq');
select pgq.insert_event('tq', 'data', 'refused');
select pgq.ticker('tq');
select pgq.ticker();
select pgq.current_event_table('tq') is not null;
select * from pgq_node.demote_root('tq', 0, 'B');
select * from pgq_node.demote_root('tq', 4, 'B');
-- still the root until step 3
select node_type, worker_last_tick from pgq_node.get_node_info('tq');
select pgq_node.is_root_node('tq');

-- step 2: the final tick; a repeat adds another one
select * from pgq_node.demote_root('tq', 2, 'B');
select * from pg_temp.ticks('tq');
select * from pgq_node.demote_root('tq', 2, 'B');
select * from pg_temp.ticks('tq');
select * from pg_temp.queue_state('tq');
-- B's worker reads up to the final tick from here
select pgq.next_batch('tq', 'B_worker') is not null;
select prev_tick_id, tick_id from pgq.get_batch_info(
    (select current_batch from pgq.get_consumer_info('tq', 'B_worker')));
select ev_type, ev_data from pgq.get_batch_events(
    (select current_batch from pgq.get_consumer_info('tq', 'B_worker'))) order by ev_id;
select pgq.finish_batch((select current_batch from pgq.get_consumer_info('tq', 'B_worker')));

-- step 3: a branch of B, positioned at the queue top
select * from pgq_node.set_consumer_uptodate('tq', 'A_worker', true);
select * from pgq_node.demote_root('tq', 3, 'B');
select * from pgq_node.get_node_info('tq');
select * from pgq_node.get_consumer_state('tq', 'A_worker');
select pgq_node.is_root_node('tq');
-- done: further steps find a branch
select * from pgq_node.demote_root('tq', 3, 'B');
select * from pgq_node.demote_root('tq', 1, 'B');
select * from pgq_node.demote_root('tq', 2, 'B');
select * from pg_temp.ticks('tq');

-- as a branch it now takes B's events and ticks (as A's worker copies them);
-- the tick ids B hands out must not collide with the repeated step 2's
set session_replication_role = 'replica';
select pgq.insert_event_raw('tq', 9, now(), null, null, 'data', 'from B', null, null, null, null);
set session_replication_role = 'origin';
select pgq.ticker('tq', 5, now(), 9);
select pgq.ticker('tq', 6, now(), 9);
select * from pgq_node.set_consumer_completed('tq', 'A_worker', 6);
select * from pgq_node.set_global_watermark('tq', 5);
select node_type, global_watermark, local_watermark, worker_last_tick from pgq_node.get_node_info('tq');
select * from pgq_node.get_worker_state('tq');

-- the other way round: branch pq is promoted
select * from pgq_node.register_location('pq', 'A', 'dbname=a', false);
select * from pgq_node.register_location('pq', 'B', 'dbname=b', false);
select * from pgq_node.create_node('pq', 'branch', 'B', 'B_worker', 'A', 3, null);
select pgq.ticker('pq', 4, now(), 10);
select pgq.ticker('pq', 5, now(), 12);
select * from pg_temp.queue_state('pq');
select * from pgq_node.promote_branch('nosuchq');
select * from pgq_node.promote_branch(null);
select * from pgq_node.set_consumer_uptodate('pq', 'B_worker', true);
select * from pgq_node.promote_branch('pq');
select * from pg_temp.queue_state('pq');
select * from pgq_node.get_node_info('pq');
select * from pgq_node.get_consumer_state('pq', 'B_worker');
select pgq_node.is_root_node('pq');
-- it ticks itself now, continuing the cascade's tick ids, and takes events
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = 'pq';
select pgq.insert_event('pq', 'data', 'new root') > 12;
select pgq.ticker('pq');
select tick_id from pg_temp.ticks('pq');
select pgq.ticker('pq', 99, now(), 100);
-- and broadcasts like a root
select * from pgq_node.register_location('pq', 'C', 'dbname=c', false);
-- the old root subscribes at its final tick
select * from pgq_node.register_subscriber('pq', 'A', 'A_worker', 5);
select consumer_name, last_tick from pgq.get_consumer_info('pq') order by 1;
-- failover leaves a gravestone for the dead root instead
select * from pgq_node.register_location('pq', 'D', 'dbname=d', true);
select * from pgq_node.register_subscriber('pq', 'D', 'D.gravestone', 4);
select * from pgq_node.get_subscriber_info('pq');
select * from pgq_node.promote_branch('pq');

-- a leaf is not promoted
select * from pgq_node.register_location('lq', 'L', 'dbname=l', false);
select * from pgq_node.create_node('lq', 'leaf', 'L', 'L_worker', 'L', 1, null);
select * from pgq_node.promote_branch('lq');
select * from pgq_node.demote_root('lq', 1, 'L');

-- a root whose queue is gone
select * from pgq_node.register_location('gq', 'G', 'dbname=g', false);
select * from pgq_node.create_node('gq', 'root', 'G', 'G_worker', null, null, null);
select pgq.drop_queue('gq', true);
select * from pgq_node.demote_root('gq', 1, 'G');
select * from pgq_node.demote_root('gq', 2, 'G');
select ret_code, ret_note, local_watermark, worker_last_tick from pgq_node.get_node_info('gq');
select ret_code, ret_note, local_watermark, local_queue_top from pgq_node.get_worker_state('gq');

-- step 3 to a provider that is not a member
select * from pgq_node.register_location('xq', 'X', 'dbname=x', false);
select * from pgq_node.create_node('xq', 'root', 'X', 'X_worker', null, null, null);
select * from pgq_node.demote_root('xq', 1, 'nobody');
select * from pgq_node.demote_root('xq', 3, 'nobody');
select * from pgq_node.demote_root('xq', 3, null);
-- step 3 straight after step 1 is allowed
select * from pgq_node.demote_root('xq', 3, 'X');
select * from pgq_node.get_worker_state('xq');

select * from pgq_node.node_info order by queue_name;
select * from pgq_node.local_state order by queue_name, consumer_name;
