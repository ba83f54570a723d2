-- session_replication_role and inserts into enabled and disabled queues.
\set VERBOSITY terse
set client_min_messages = 'warning';

select pgq.create_queue('open_q');
select pgq.create_queue('closed_q');
update pgq.queue set queue_disable_insert = true where queue_name = 'closed_q';

set session_replication_role = 'origin';
select pgq.insert_event('open_q', 'origin', 'x');
select pgq.insert_event('closed_q', 'origin', 'x');
select pgq.current_event_table('closed_q');

set session_replication_role = 'replica';
select pgq.insert_event('open_q', 'replica', 'x');
select pgq.insert_event('closed_q', 'replica', 'x');
select pgq.insert_event_raw('closed_q', null, null, null, null, 'replica-raw', 'x', null, null, null, null);
select pgq.current_event_table('closed_q');

set session_replication_role = 'local';
select pgq.insert_event('open_q', 'local', 'x');
select pgq.insert_event('closed_q', 'local', 'x');
select pgq.current_event_table('closed_q');

reset session_replication_role;
select pgq.insert_event('closed_q', 'default', 'x');

select ev_id, ev_type, ev_time is not null as has_time from pgq.event_1 order by ev_id;
select ev_id, ev_type, ev_time is not null as has_time from pgq.event_2 order by ev_id;
select pgq.drop_queue('open_q');
select pgq.drop_queue('closed_q');
