-- A cascade's data path, played by hand in one database: a root queue
-- "up" read by a subscriber's worker, which copies each batch (same event
-- ids, same tick ids and times) into a branch queue "down", applies the
-- cascade events, reports its watermark upstream and records its progress;
-- then a merge leaf feeding a combined queue with pgq.tick-id events.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

create function pg_temp.events(q text)
returns table (ev_id bigint, ev_type text, ev_data text,
               ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
language plpgsql as $$
begin
    return query execute format(
        'select ev_id, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4 from %s order by ev_id',
        (select queue_data_pfx from pgq.queue where queue_name = q));
end $$;

-- One round of the branch worker for "down" reading "up": take a batch,
-- copy its events into the local queue, apply cascade events, mark the tick
-- done; then create the same tick locally.  Returns what it did.
create function pg_temp.worker_round() returns text language plpgsql as $$
declare
    b record;
    ev record;
    st record;
    tbl text;
    n int := 0;
    max_ev bigint := 0;
    notes text := '';
    r record;
begin
    select * into st from pgq_node.get_consumer_state('down', 'down_worker');
    if not st.uptodate then
        perform pgq_node.set_consumer_uptodate('down', 'down_worker', true);
    end if;
    select * into b from pgq.next_batch_info('up', 'down_worker');
    if b.batch_id is null then
        return 'no batch';
    end if;
    if st.completed_tick = b.cur_tick_id then
        perform pgq.finish_batch(b.batch_id);
        return 'already applied ' || b.cur_tick_id;
    elsif st.completed_tick <> b.prev_tick_id then
        raise exception 'Lost position: batch %..%, dst has %', b.prev_tick_id, b.cur_tick_id, st.completed_tick;
    end if;
    -- writing into a branch queue needs the replica role
    perform set_config('session_replication_role', 'replica', true);
    tbl := pgq.current_event_table('down');
    for ev in select * from pgq.get_batch_events(b.batch_id) order by ev_id loop
        execute format('insert into %s (ev_id, ev_time, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4)'
                       ' values ($1, $2, $3, $4, $5, $6, $7, $8)', tbl)
          using ev.ev_id, ev.ev_time, ev.ev_type, ev.ev_data, ev.ev_extra1, ev.ev_extra2, ev.ev_extra3, ev.ev_extra4;
        n := n + 1;
        max_ev := greatest(max_ev, ev.ev_id);
        if ev.ev_type = 'pgq.global-watermark' then
            select * into r from pgq_node.set_global_watermark('down', ev.ev_data::bigint);
            notes := notes || ' [' || r.ret_code || ' ' || r.ret_note || ']';
        elsif ev.ev_type = 'pgq.location-info' then
            select * into r from pgq_node.register_location('down', ev.ev_data, ev.ev_extra2, ev.ev_extra3::boolean);
            notes := notes || ' [' || r.ret_code || ' ' || r.ret_note || ']';
        elsif ev.ev_type = 'pgq.unregister-location' then
            select * into r from pgq_node.unregister_location('down', ev.ev_data);
            notes := notes || ' [' || r.ret_code || ' ' || r.ret_note || ']';
        end if;
    end loop;
    perform set_config('session_replication_role', 'origin', true);
    perform pgq_node.set_consumer_completed('down', 'down_worker', b.cur_tick_id);
    perform pgq.finish_batch(b.batch_id);
    -- (the real worker commits here and makes the tick in a new transaction)
    perform pgq.ticker('down', b.cur_tick_id, b.cur_tick_time,
                       greatest(max_ev, b.cur_tick_event_seq));
    return 'batch ' || b.prev_tick_id || '..' || b.cur_tick_id || ': ' || n || ' events' || notes;
end $$;

-- root "up" on node A; node B's worker reads it and fills branch "down"
select * from pgq_node.register_location('up', 'A', 'dbname=a', false);
select * from pgq_node.register_location('up', 'B', 'dbname=b', false);
select * from pgq_node.create_node('up', 'root', 'A', 'A_worker', null, null, null);
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = 'up';
select ret_code, ret_note, global_watermark
  from pgq_node.register_subscriber('up', 'B', 'down_worker', null) \gset sub_
select :sub_ret_code, :'sub_ret_note', :sub_global_watermark;
select * from pgq_node.register_location('down', 'A', 'dbname=a', false);
select * from pgq_node.register_location('down', 'B', 'dbname=b', false);
select * from pgq_node.create_node('down', 'branch', 'B', 'down_worker', 'A', :sub_global_watermark, null);

-- data, a member change and a watermark go down the cascade
select pgq.insert_event('up', 'I', 'id=1');
select pgq.insert_event('up', 'U', 'id=1', 'public.t', null, null, null);
select pgq.ticker('up');
select pg_temp.worker_round();
select pg_temp.worker_round();
select * from pgq_node.register_location('up', 'C', 'dbname=c', false);
select pgq.insert_event('up', 'D', 'id=1');
select pgq.ticker('up');
select pg_temp.worker_round();
select * from pgq_node.get_queue_locations('down');
-- B reports its subtree's position up; A publishes the global watermark
select * from pgq_node.set_subscriber_watermark('up', 'B',
    (select local_watermark from pgq_node.get_node_info('down')));
select * from pgq_node.set_global_watermark('up', null);
select pgq.ticker('up');
select pg_temp.worker_round();
select * from pg_temp.events('down');
select t.tick_id, t.tick_event_seq, t.tick_time = u.tick_time as same_time
  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
  left join (select t2.tick_id, t2.tick_time from pgq.tick t2 join pgq.queue q2 on q2.queue_id = t2.tick_queue
              where q2.queue_name = 'up') u on u.tick_id = t.tick_id
 where q.queue_name = 'down' order by 1;
select node_type, global_watermark, local_watermark, worker_last_tick from pgq_node.get_node_info('down');
select node_type, global_watermark, local_watermark, worker_last_tick from pgq_node.get_node_info('up');
-- nothing new: no batch; a batch applied but not finished is recognised
select pg_temp.worker_round();
select pgq.ticker('up');
select pg_temp.worker_round();
select pgq.ticker('up');
select pgq.next_batch('up', 'down_worker') is not null;
select * from pgq_node.set_consumer_completed('down', 'down_worker',
    (select next_tick from pgq.get_consumer_info('up', 'down_worker')));
select pg_temp.worker_round();
-- a wrong position is caught
select * from pgq_node.set_consumer_completed('down', 'down_worker', 1);
select pgq.insert_event('up', 'I', 'id=2');
select pgq.ticker('up');
select pg_temp.worker_round();
select * from pgq_node.set_consumer_completed('down', 'down_worker',
    (select last_tick from pgq.get_consumer_info('up', 'down_worker')));

-- a plain consumer of the branch, moved over to read the root: same ticks
select pgq.register_consumer_at('down', 'reader', 2);
select * from pgq_node.register_consumer('down', 'reader', 'B', 2);
select pgq.next_batch('down', 'reader') is not null;
select ev_type, ev_data from pgq.get_batch_events(
    (select current_batch from pgq.get_consumer_info('down', 'reader'))) order by ev_id;
select prev_tick_id, tick_id from pgq.get_batch_info(
    (select current_batch from pgq.get_consumer_info('down', 'reader')));
select pgq.finish_batch((select current_batch from pgq.get_consumer_info('down', 'reader')));
select * from pgq_node.set_consumer_completed('down', 'reader',
    (select last_tick from pgq.get_consumer_info('down', 'reader')));
select pgq.register_consumer_at('up', 'reader',
    (select completed_tick from pgq_node.get_consumer_state('down', 'reader')));
select * from pgq_node.change_consumer_provider('down', 'reader', 'A');
select pgq.unregister_consumer('down', 'reader');
select completed_tick, provider_node, provider_location, uptodate
  from pgq_node.get_consumer_state('down', 'reader');

-- a merge leaf: part queue "p1" (read from elsewhere) copies data events
-- into combined root "up" and marks each batch's end with pgq.tick-id
select * from pgq_node.register_location('p1', 'P', 'dbname=p', false);
select * from pgq_node.register_location('p1', 'A', 'dbname=a', false);
select * from pgq_node.create_node('p1', 'leaf', 'A', 'p1_worker', 'P', 40, 'up');
select node_type, combined_queue, combined_type from pgq_node.get_worker_state('p1');
select target_for from pgq_node.get_node_info('up');
select pgq.insert_event('up', 'I', 'from part');
select pgq.insert_event('up', 'pgq.tick-id', '41', 'p1', null, null, null);
select * from pgq_node.set_consumer_completed('p1', 'p1_worker', 41);
select pgq.ticker('up');
-- down the combined cascade, a branch copy applies it to its own part leaf
select * from pgq_node.register_location('p1x', 'B', 'dbname=b', false);
select * from pgq_node.create_node('p1x', 'leaf', 'B', 'p1x_worker', 'B', 40, 'down');
select pg_temp.worker_round();
select pg_temp.worker_round();
select * from pgq_node.set_partition_watermark('down', 'p1x',
    (select ev_data::bigint from pg_temp.events('down') where ev_type = 'pgq.tick-id'));
select completed_tick from pgq_node.get_worker_state('p1x');
-- once promoted, the branch is a combined root: nothing to set
select * from pgq_node.promote_branch('down');
select * from pgq_node.set_partition_watermark('down', 'p1x', 42);

select * from pgq_node.local_state order by queue_name, consumer_name;
