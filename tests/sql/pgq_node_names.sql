-- pgq_node with hostile names: queue, node, worker and consumer names with
-- quotes, spaces, dots, semicolons, backslashes, percent signs and non-ASCII
-- letters travel as values, never as SQL.
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

\set q 'q"; drop schema pgq_node cascade; --'
\set root 'Röot.node ''x'''
\set sub 'sub %s \\ "y"'
\set wrk 'w''; select 1; --'

select :'q' as queue, :'root' as root, :'sub' as sub, :'wrk' as worker;

select * from pgq_node.register_location(:'q', :'root', 'host=''a b'' dbname="c"', false);
select * from pgq_node.register_location(:'q', :'sub', 'dbname=sub', false);
select * from pgq_node.create_node(:'q', 'root', :'root', :'wrk', null, null, null);
select * from pgq_node.register_subscriber(:'q', :'sub', :'wrk' || '2', null);
select * from pgq_node.get_queue_locations(:'q');
select * from pgq_node.get_subscriber_info(:'q');
select consumer_name from pgq.get_consumer_info(:'q') order by 1;
select * from pgq_node.get_node_info(:'q');
select * from pgq_node.get_worker_state(:'q');
select * from pgq_node.set_subscriber_watermark(:'q', :'sub', 1);
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' where queue_name = :'q';
select pgq.ticker(:'q');
select * from pgq_node.set_subscriber_watermark(:'q', :'sub', 2);
select * from pgq_node.set_global_watermark(:'q', null);
select * from pgq_node.register_location(:'q', :'sub', null, true);
select * from pgq_node.set_node_attrs(:'q', 'a=%27b%27&c=%3B');
select * from pgq_node.register_consumer(:'q', :'wrk' || '3', :'sub', 2);
select * from pgq_node.set_consumer_error(:'q', :'wrk' || '3', 'it''s "broken"; really');
select * from pgq_node.get_consumer_info(:'q');
select * from pgq_node.set_consumer_paused(:'q', :'wrk' || '3', true);
select * from pgq_node.change_consumer_provider(:'q', :'wrk' || '3', :'root');
select * from pgq_node.get_consumer_state(:'q', :'wrk' || '3');
select * from pgq_node.set_consumer_completed(:'q', :'wrk' || '3', 2);
select * from pgq_node.unregister_consumer(:'q', :'wrk' || '3');
select pgq_node.is_root_node(:'q'), pgq_node.is_leaf_node(:'q');
select * from pg_temp.events(:'q');

-- the whole take-over sequence with those names
select * from pgq_node.demote_root(:'q', 1, :'sub');
select * from pgq_node.demote_root(:'q', 2, :'sub');
select * from pgq_node.demote_root(:'q', 3, :'sub');
select * from pgq_node.promote_branch(:'q');
select node_type, provider_node, worker_last_tick from pgq_node.get_node_info(:'q');

-- a merge leaf into a combined queue with a hostile name
select * from pgq_node.register_location('part "1"', :'root', 'dbname=x', false);
select * from pgq_node.create_node('part "1"', 'leaf', :'root', :'wrk', :'root', 1, :'q');
select node_type, target_for from pgq_node.get_node_info(:'q');
select combined_queue, combined_type from pgq_node.get_worker_state('part "1"');

select * from pgq_node.unregister_subscriber(:'q', :'sub');
select * from pgq_node.unregister_location(:'q', :'sub');
select * from pgq_node.drop_node('part "1"', :'root');
select * from pgq_node.drop_node(:'q', :'root');
select * from pgq_node.get_node_info(:'q');
select count(*) from pgq.queue;
select nspname from pg_namespace where nspname = 'pgq_node';
