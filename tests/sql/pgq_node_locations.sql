-- pgq_node member list: register_location, unregister_location,
-- get_queue_locations, and the events the root sends for them.
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

-- no node yet: locations are just stored, nothing is sent
select * from pgq_node.register_location('lq', 'n1', 'dbname=n1', false);
select * from pgq_node.register_location('lq', 'n2', 'dbname=n2', false);
select * from pgq_node.register_location('lq', 'n3', 'dbname=n3 host=h3', true);
select * from pgq_node.register_location('other', 'n1', 'dbname=other', false);
select * from pgq_node.get_queue_locations('lq');
select * from pgq_node.get_queue_locations('other');
select * from pgq_node.get_queue_locations('nothing');
select * from pgq_node.get_queue_locations(null);

-- update: a new connect string, the dead flag
select * from pgq_node.register_location('lq', 'n2', 'dbname=n2b', false);
select * from pgq_node.register_location('lq', 'n3', 'dbname=n3', false);
-- NULL location keeps the known one (tag dead / alive)
select * from pgq_node.register_location('lq', 'n2', null, true);
select * from pgq_node.get_queue_locations('lq');
select * from pgq_node.register_location('lq', 'n2', null, false);
-- NULL location for an unknown member: nothing stored, still 200
select * from pgq_node.register_location('lq', 'n9', null, false);
select * from pgq_node.get_queue_locations('lq');
-- NULL dead flag or name cannot be stored
select * from pgq_node.register_location('lq', 'n2', 'dbname=n2', null);
select * from pgq_node.register_location('lq', 'n8', 'dbname=n8', null);
select * from pgq_node.register_location('lq', null, 'dbname=x', false);
select * from pgq_node.register_location(null, 'n1', 'dbname=x', false);

-- unregister: 200, then 301 with the names in the note
select * from pgq_node.register_location('lq', 'n4', 'dbname=n4', false);
select * from pgq_node.unregister_location('lq', 'n4');
select * from pgq_node.unregister_location('lq', 'n4');
select * from pgq_node.unregister_location('nothing', 'n4');
select * from pgq_node.unregister_location('lq', null);
select * from pgq_node.get_queue_locations('lq');

-- once n1 is the root: every change is broadcast
select * from pgq_node.create_node('lq', 'root', 'n1', 'w1', null, null, null);
select * from pgq_node.register_location('lq', 'n5', 'dbname=n5', false);
select * from pgq_node.register_location('lq', 'n5', null, true);
select * from pgq_node.register_location('lq', 'n6', null, false);
select * from pgq_node.unregister_location('lq', 'n5');
select * from pgq_node.unregister_location('lq', 'n5');
select * from pg_temp.events('lq');

-- the node's own location and its provider's are refused
select * from pgq_node.unregister_location('lq', 'n1');
select * from pgq_node.register_location('bq', 'b1', 'dbname=b1', false);
select * from pgq_node.register_location('bq', 'b2', 'dbname=b2', false);
select * from pgq_node.register_location('bq', 'b3', 'dbname=b3', false);
select * from pgq_node.create_node('bq', 'branch', 'b2', 'w2', 'b1', 1, null);
select * from pgq_node.unregister_location('bq', 'b2');
select * from pgq_node.unregister_location('bq', 'b1');
select * from pgq_node.unregister_location('bq', 'b3');
select * from pgq_node.get_queue_locations('bq');
-- a branch does not broadcast (its queue refuses inserts anyway)
select * from pgq_node.register_location('bq', 'b4', 'dbname=b4', false);
select count(*) from pg_temp.events('bq');

-- a member still used as a consumer's provider cannot go
select * from pgq_node.register_consumer('bq', 'plain', 'b4', 1);
select * from pgq_node.unregister_location('bq', 'b4');

-- a subscriber's location goes with its subscription
select * from pgq_node.register_subscriber('lq', 'n3', 'w3', null);
select * from pgq_node.get_subscriber_info('lq');
select * from pgq_node.unregister_location('lq', 'n3');
select * from pgq_node.get_subscriber_info('lq');
select consumer_name from pgq.get_consumer_info('lq') order by 1;
select ev_type, ev_data, ev_extra1 from pg_temp.events('lq') where ev_type = 'pgq.unregister-location';

select * from pgq_node.node_location order by queue_name, node_name;
