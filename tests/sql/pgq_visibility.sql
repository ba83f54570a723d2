-- Batch membership: an event belongs to the batch whose end tick is the first
-- tick that sees its transaction committed.  Open, aborted and half-aborted
-- transactions, and hand-made tick snapshots that exercise both ways the
-- batch query finds transactions that were running at the start tick.
\set VERBOSITY terse
set client_min_messages = 'warning';

select pgq.create_queue('vq');
select pgq.set_queue_config('vq', 'ticker_max_count', '1');
select pgq.set_queue_config('vq', 'ticker_max_lag', '1 hour');
select pgq.set_queue_config('vq', 'ticker_idle_period', '1 hour');
select pgq.register_consumer('vq', 'c');

-- a tick taken while the inserting transaction is still open does not see it
begin;
select pgq.insert_event('vq', 'open', '1');
select pgq.insert_event('vq', 'open', '2');
select pgq.ticker('vq');
commit;
select pgq.next_batch('vq', 'c');
select count(*) from pgq.get_batch_events(1);
select pgq.finish_batch(1);

-- aborted transactions and rolled back savepoints never show up
begin;
select pgq.insert_event('vq', 'aborted', '3');
rollback;
begin;
select pgq.insert_event('vq', 'kept', '4');
savepoint s1;
select pgq.insert_event('vq', 'aborted-sp', '5');
rollback to savepoint s1;
select pgq.insert_event('vq', 'kept', '6');
commit;
select pgq.insert_event('vq', 'later', '7');
select pgq.ticker('vq');
select pgq.next_batch('vq', 'c');
select ev_id, ev_type, ev_data from pgq.get_batch_events(2);
select pgq.finish_batch(2);

-- nothing new: a tick without events gives an empty batch
select pgq.force_tick('vq');
select pgq.ticker('vq');
select pgq.next_batch('vq', 'c');
select count(*) from pgq.get_batch_events(3);
select pgq.finish_batch(3);

-- every event exactly once over the whole run
select count(*), count(distinct ev_id) from pgq.event_1;

-- Hand-made snapshots around one committed transaction X.
select pgq.create_queue('sq');
create temp table xid_holder (x bigint);
begin;
insert into xid_holder select txid_current();
select pgq.insert_event('sq', 'x-event', 'one');
select pgq.insert_event('sq', 'x-event', 'two');
commit;
insert into pgq.tick (tick_queue, tick_id, tick_snapshot, tick_event_seq)
select q.queue_id, v.id, v.snap::txid_snapshot, 10
  from pgq.queue q, xid_holder h,
       lateral (values
         -- X running, far below xmax: found through the explicit txid list
         (10, h.x || ':' || (h.x + 200) || ':' || h.x),
         (11, (h.x + 300) || ':' || (h.x + 300) || ':'),
         -- X running, close to xmax: folded into the scanned range
         (12, h.x || ':' || (h.x + 50) || ':' || h.x),
         (13, (h.x + 300) || ':' || (h.x + 300) || ':'),
         -- X already visible at the start: not in the batch
         (14, (h.x + 1) || ':' || (h.x + 1) || ':'),
         (15, (h.x + 300) || ':' || (h.x + 300) || ':'),
         -- X still running at the end: not yet in the batch
         (16, h.x || ':' || (h.x + 200) || ':' || h.x),
         (17, h.x || ':' || (h.x + 300) || ':' || h.x),
         -- X not yet started at the start, committed at the end
         (18, h.x || ':' || h.x || ':'),
         (19, (h.x + 300) || ':' || (h.x + 300) || ':')) v(id, snap)
 where q.queue_name = 'sq';
select pgq.register_consumer_at('sq', 'in_list', 10);
select pgq.register_consumer_at('sq', 'folded', 12);
select pgq.register_consumer_at('sq', 'seen_before', 14);
select pgq.register_consumer_at('sq', 'still_running', 16);
select pgq.register_consumer_at('sq', 'new_tx', 18);
select c.consumer, b.batch_id, b.prev_tick_id, b.cur_tick_id
  from (values ('in_list'), ('folded'), ('seen_before'), ('still_running'), ('new_tx')) c(consumer),
       lateral pgq.next_batch_info('sq', c.consumer) b
 order by b.batch_id;
select c.consumer, e.ev_data
  from (values ('in_list'), ('folded'), ('seen_before'), ('still_running'), ('new_tx')) c(consumer)
  join pgq.subscription s on s.sub_consumer = (select co_id from pgq.consumer where co_name = c.consumer)
   and s.sub_queue = (select queue_id from pgq.queue where queue_name = 'sq'),
       lateral pgq.get_batch_events(s.sub_batch) e
 order by 1, 2;

select pgq.drop_queue('vq', true);
select pgq.drop_queue('sq', true);
