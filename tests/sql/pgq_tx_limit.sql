-- queue_per_tx_limit: how many events one transaction may insert per queue.
\set VERBOSITY terse
set client_min_messages = 'warning';

select pgq.create_queue('lq');
select pgq.create_queue('other');

-- limit 2: two pass, the third fails and takes the transaction with it
update pgq.queue set queue_per_tx_limit = 2 where queue_name = 'lq';
begin;
select pgq.insert_event('lq', 'a', '1');
select pgq.insert_event('lq', 'a', '2');
select pgq.insert_event('other', 'o', 'not counted');
select pgq.insert_event('lq', 'a', '3');
rollback;
select count(*) from pgq.event_1;

-- the count is per transaction
begin;
select pgq.insert_event('lq', 'b', '1');
select pgq.insert_event('lq', 'b', '2');
commit;
begin;
select pgq.insert_event('lq', 'c', '1', 'e1', null, null, null);
select pgq.insert_event_raw('lq', null, now(), null, null, 'c', '2', null, null, null, null);
commit;
select pgq.insert_event('lq', 'd', '1');
select pgq.insert_event('lq', 'd', '2');
select count(*) from (select pgq.insert_event('lq', 'e', 'x') from generate_series(1, 2)) s;
select count(*) from (select pgq.insert_event('lq', 'e', 'x') from generate_series(1, 3)) s;

-- limit 0: nothing may be inserted
update pgq.queue set queue_per_tx_limit = 0 where queue_name = 'lq';
select pgq.insert_event('lq', 'z', '1');
select pgq.insert_event('other', 'o', 'still fine');

-- NULL: unlimited again
update pgq.queue set queue_per_tx_limit = null where queue_name = 'lq';
select count(*) from (select pgq.insert_event('lq', 'n', 'x') from generate_series(1, 10)) s;

select ev_type, count(*) from pgq.event_1 group by 1 order by 1;
select pgq.drop_queue('lq');
select pgq.drop_queue('other');
