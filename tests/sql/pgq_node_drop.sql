-- pgq_node.drop_node in its different orders: other members first or the
-- local node first, the provider (refused), unknown queues and leftovers,
-- and the events a root sends for it.
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
create view pg_temp.state as
    select 'location' as what, queue_name, node_name as name from pgq_node.node_location
    union all select 'node', queue_name, node_name || ':' || node_type from pgq_node.node_info
    union all select 'local', queue_name, consumer_name from pgq_node.local_state
    union all select 'subscriber', queue_name, subscriber_node from pgq_node.subscriber_info
    union all select 'queue', queue_name, null from pgq.queue
    union all select 'consumer', queue_name, consumer_name from pgq.get_consumer_info();

-- nothing known at all: still "dropped"
select * from pgq_node.drop_node('nosuchq', 'nobody');
select * from pgq_node.drop_node(null, null);

-- a root with two subscribers; drop the members first, then itself
select * from pgq_node.register_location('rq', 'r', 'dbname=r', false);
select * from pgq_node.register_location('rq', 's1', 'dbname=s1', false);
select * from pgq_node.register_location('rq', 's2', 'dbname=s2', false);
select * from pgq_node.create_node('rq', 'root', 'r', 'r_worker', null, null, null);
select * from pgq_node.register_subscriber('rq', 's1', 's1_worker', null);
select * from pgq_node.register_subscriber('rq', 's2', 's2_worker', null);
select * from pgq_node.register_consumer('rq', 'plain', 'r', 1);
select * from pg_temp.state where queue_name = 'rq' order by 1, 3;
select * from pgq_node.drop_node('rq', 's1');
select * from pg_temp.state where queue_name = 'rq' order by 1, 3;
-- a member that is not there: dropped just the same (and announced)
select * from pgq_node.drop_node('rq', 's1');
select * from pgq_node.drop_node('rq', 'never');
select * from pg_temp.events('rq');
-- the root's worker reads from the root itself: dropping the root by name
-- is dropping the local node
select * from pgq_node.drop_node('rq', 'r');
select * from pg_temp.state where queue_name = 'rq' order by 1, 3;
select count(*) from pgq.consumer where co_name in ('.global_watermark', 's2_worker', '.s2.watermark');
-- and the stragglers afterwards find nothing
select * from pgq_node.drop_node('rq', 's2');
select * from pgq_node.get_node_info('rq');

-- a branch: its provider is refused; the local node first takes everything
select * from pgq_node.register_location('bq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('bq', 'me', 'dbname=me', false);
select * from pgq_node.register_location('bq', 'down', 'dbname=down', false);
select * from pgq_node.register_location('bq', 'side', 'dbname=side', false);
select * from pgq_node.create_node('bq', 'branch', 'me', 'me_worker', 'up', 5, null);
select * from pgq_node.register_subscriber('bq', 'down', 'down_worker', null);
select * from pgq_node.drop_node('bq', 'up');
select * from pg_temp.state where queue_name = 'bq' order by 1, 3;
select * from pgq_node.drop_node('bq', 'side');
select * from pgq_node.drop_node('bq', 'me');
select * from pg_temp.state where queue_name = 'bq' order by 1, 3;
select * from pgq_node.drop_node('bq', 'up');
select * from pgq_node.drop_node('bq', 'down');

-- a branch whose worker moved to another provider: the old one may go
select * from pgq_node.register_location('b2q', 'up', 'dbname=up', false);
select * from pgq_node.register_location('b2q', 'up2', 'dbname=up2', false);
select * from pgq_node.register_location('b2q', 'me', 'dbname=me', false);
select * from pgq_node.create_node('b2q', 'branch', 'me', 'me_worker', 'up', 1, null);
select * from pgq_node.change_consumer_provider('b2q', 'me_worker', 'up2');
select * from pgq_node.drop_node('b2q', 'up2');
select * from pgq_node.drop_node('b2q', 'up');
select * from pg_temp.state where queue_name = 'b2q' order by 1, 3;
-- a plain consumer still reading from a member blocks that member's removal
select * from pgq_node.register_consumer('b2q', 'plain', 'me', 1);
select * from pgq_node.register_location('b2q', 'x', 'dbname=x', false);
select * from pgq_node.change_consumer_provider('b2q', 'plain', 'x');
select * from pgq_node.drop_node('b2q', 'x');
select * from pgq_node.drop_node('b2q', 'me');
select * from pg_temp.state where queue_name = 'b2q' order by 1, 3;

-- a leaf (no queue of its own), and a merge leaf whose combined queue stays
select pgq.create_queue('combined');
select * from pgq_node.register_location('lq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('lq', 'leaf', 'dbname=leaf', false);
select * from pgq_node.create_node('lq', 'leaf', 'leaf', 'leaf_worker', 'up', 3, 'combined');
select * from pgq_node.drop_node('lq', 'leaf');
select * from pg_temp.state where queue_name in ('lq', 'combined') order by 1, 2, 3;

-- leftovers: a pgq queue of that name without node info is dropped as well,
-- with the member list apart from the named node
select pgq.create_queue('stale');
select pgq.register_consumer('stale', 'someone');
select * from pgq_node.register_location('stale', 'a', 'dbname=a', false);
select * from pgq_node.register_location('stale', 'b', 'dbname=b', false);
select * from pgq_node.drop_node('stale', 'a');
select * from pg_temp.state where queue_name = 'stale' order by 1, 3;

-- a node row whose worker state is gone: not taken for the provider
select * from pgq_node.register_location('wq', 'up', 'dbname=up', false);
select * from pgq_node.register_location('wq', 'me', 'dbname=me', false);
select * from pgq_node.create_node('wq', 'leaf', 'me', 'me_worker', 'up', 3, null);
select * from pgq_node.unregister_consumer('wq', 'me_worker');
select * from pgq_node.drop_node('wq', 'up');
select * from pg_temp.state where queue_name = 'wq' order by 1, 3;
select * from pgq_node.drop_node('wq', null);
select * from pgq_node.drop_node('wq', 'me');

select * from pg_temp.state order by 1, 2, 3;
