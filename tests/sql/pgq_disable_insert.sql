-- queue_disable_insert: producers are refused, except in replica mode.
\set VERBOSITY terse
set client_min_messages = 'warning';

select pgq.create_queue('dq');
select pgq.insert_event('dq', 'before', '1');

update pgq.queue set queue_disable_insert = true where queue_name = 'dq';
select pgq.insert_event('dq', 'refused', '2');
select pgq.insert_event('dq', 'refused', '3', 'a', 'b', 'c', 'd');
select pgq.insert_event_raw('dq', 500, now(), null, null, 'refused', '4', null, null, null, null);
select pgq.current_event_table('dq');

-- a refused insert still draws an id (the ticker sees the attempt)
select pgq.seq_getval('pgq.event_1_id_seq');

-- the switch is read on every call, also inside a transaction
begin;
update pgq.queue set queue_disable_insert = false where queue_name = 'dq';
select pgq.insert_event('dq', 'enabled-in-tx', '5');
update pgq.queue set queue_disable_insert = true where queue_name = 'dq';
select pgq.insert_event('dq', 'refused-in-tx', '6');
rollback;

update pgq.queue set queue_disable_insert = false where queue_name = 'dq';
select pgq.insert_event('dq', 'after', '7');
select pgq.current_event_table('dq');
select ev_id, ev_type, ev_data from pgq.event_1 order by ev_id;
select pgq.drop_queue('dq');
