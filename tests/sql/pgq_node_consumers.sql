-- pgq_node target side, any cascaded consumer: register_consumer,
-- unregister_consumer, get_consumer_state, get_consumer_info,
-- change_consumer_provider and the set_consumer_* flags, walked through the
-- loop a consumer runs.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

select * from pgq_node.register_location('cq', 'n1', 'dbname=n1', false);
select * from pgq_node.register_location('cq', 'n2', 'dbname=n2', false);
select * from pgq_node.register_location('cq', 'n3', 'dbname=n3', false);

-- no node here yet
select * from pgq_node.register_consumer('cq', 'c1', 'n1', 1);
select * from pgq_node.unregister_consumer('cq', 'c1');
select * from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.get_consumer_info('cq');

select * from pgq_node.create_node('cq', 'branch', 'n2', 'n2_worker', 'n1', 5, null);

select * from pgq_node.register_consumer('cq', 'c1', 'n1', 5);
select * from pgq_node.register_consumer('cq', 'c2', 'n2', 5);
-- again: moved to the new provider and tick, other state kept
select * from pgq_node.set_consumer_paused('cq', 'c2', true);
select * from pgq_node.register_consumer('cq', 'c2', 'n1', 7);
select * from pgq_node.get_consumer_info('cq');
-- the provider must be a member, the tick given
select * from pgq_node.register_consumer('cq', 'c3', 'n9', 5);
select * from pgq_node.register_consumer('cq', 'c3', 'n1', null);
select * from pgq_node.register_consumer('cq', null, 'n1', 5);

-- state as the consumer sees it
select * from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.get_consumer_state('cq', 'n2_worker');
select * from pgq_node.get_consumer_state('cq', 'nobody');
select * from pgq_node.get_consumer_state('nosuchq', 'c1');
select * from pgq_node.get_consumer_state('cq', null);

-- a loop round: acknowledge, fail, succeed
select * from pgq_node.set_consumer_uptodate('cq', 'c1', true);
select * from pgq_node.set_consumer_uptodate('cq', 'c1', false);
select * from pgq_node.set_consumer_uptodate('cq', 'c1', true);
select * from pgq_node.set_consumer_uptodate('cq', 'nobody', true);
select * from pgq_node.set_consumer_uptodate('cq', 'c1', null);
select * from pgq_node.set_consumer_error('cq', 'c1', 'duplicate key value violates "x"');
select completed_tick, cur_error from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.set_consumer_error('cq', 'nobody', 'boom');
select * from pgq_node.set_consumer_error('nosuchq', 'c1', 'boom');
select * from pgq_node.set_consumer_error('cq', 'c1', null);
select * from pgq_node.set_consumer_error('cq', 'c1', 'again');
select * from pgq_node.set_consumer_completed('cq', 'c1', 6);
select completed_tick, cur_error, uptodate from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.set_consumer_completed('cq', 'nobody', 6);
select * from pgq_node.set_consumer_completed('cq', 'c1', null);
-- completed ticks are not checked against anything
select * from pgq_node.set_consumer_completed('cq', 'c1', 3);

-- pause and resume: a change clears uptodate, a repeat is 201
select * from pgq_node.set_consumer_uptodate('cq', 'c1', true);
select * from pgq_node.set_consumer_paused('cq', 'c1', true);
select paused, uptodate from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.set_consumer_uptodate('cq', 'c1', true);
select * from pgq_node.set_consumer_paused('cq', 'c1', true);
select paused, uptodate from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.set_consumer_paused('cq', 'c1', false);
select * from pgq_node.set_consumer_paused('cq', 'c1', false);
select * from pgq_node.set_consumer_paused('cq', 'nobody', true);
select * from pgq_node.set_consumer_paused('cq', 'nobody', false);
select * from pgq_node.set_consumer_paused('cq', 'c1', null);

-- provider change keeps the position, clears uptodate
select * from pgq_node.set_consumer_uptodate('cq', 'c1', true);
select * from pgq_node.change_consumer_provider('cq', 'c1', 'n3');
select * from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.change_consumer_provider('cq', 'c1', 'n9');
select * from pgq_node.change_consumer_provider('cq', 'nobody', 'n3');
select * from pgq_node.change_consumer_provider('nosuchq', 'c1', 'n3');
select * from pgq_node.change_consumer_provider('cq', 'c1', null);

-- a provider location that disappeared behind the consumer's back
alter table pgq_node.local_state drop constraint local_state_queue_name_provider_node_fkey;
delete from pgq_node.node_location where queue_name = 'cq' and node_name = 'n3';
select * from pgq_node.get_consumer_state('cq', 'c1');
select * from pgq_node.change_consumer_provider('cq', 'c1', 'n1');
select * from pgq_node.get_consumer_state('cq', 'c1');

select * from pgq_node.get_consumer_info('cq');
select * from pgq_node.get_consumer_info('nosuchq');

-- unregister: 200 whether or not the consumer was there
select * from pgq_node.unregister_consumer('cq', 'c2');
select * from pgq_node.unregister_consumer('cq', 'c2');
select * from pgq_node.unregister_consumer('cq', null);
select * from pgq_node.unregister_consumer('nosuchq', 'c2');
select * from pgq_node.get_consumer_state('cq', 'c2');
-- even the node's worker (the node then reports it unknown)
select * from pgq_node.unregister_consumer('cq', 'n2_worker');
select ret_code, ret_note from pgq_node.get_worker_state('cq');
select ret_code, ret_note, worker_name, worker_last_tick from pgq_node.get_node_info('cq');
select * from pgq_node.register_consumer('cq', 'n2_worker', 'n1', 5);
select ret_code, ret_note, completed_tick from pgq_node.get_worker_state('cq');

select * from pgq_node.local_state order by queue_name, consumer_name;
