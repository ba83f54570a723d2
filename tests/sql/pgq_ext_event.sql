-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Tracking applied events one by one: events of the batch in progress are
-- kept; the first event of another batch forgets the previous batch's.

select pgq_ext.is_event_done('c1', 1, 101);
select pgq_ext.set_event_done('c1', 1, 101);
select pgq_ext.is_event_done('c1', 1, 101);
select pgq_ext.is_event_done('c1', '', 1, 101);
select pgq_ext.set_event_done('c1', 1, 101);
select pgq_ext.set_event_done('c1', '', 1, 101);
select pgq_ext.set_event_done('c1', 1, 102);
select pgq_ext.set_event_done('c1', 1, 103);
select pgq_ext.is_event_done('c1', 1, 104);
select pgq_ext.is_event_done('c1', 2, 101);
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;

-- batch 2 begins: batch 1 was finished in the queue's database
select pgq_ext.set_event_done('c1', 2, 201);
select pgq_ext.is_event_done('c1', 1, 101);
select pgq_ext.is_event_done('c1', 2, 201);
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;
-- event ids are per batch
select pgq_ext.set_event_done('c1', 2, 101);
select pgq_ext.set_event_done('c1', 2, 201);
select * from pgq_ext.completed_event order by 1, 2, 3, 4;

-- an older batch id also counts as another batch
select pgq_ext.set_event_done('c1', 1, 101);
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;

-- subconsumers and consumers do not share anything
select pgq_ext.set_event_done('c1', 's1', 5, 1);
select pgq_ext.set_event_done('c1', 's2', 5, 1);
select pgq_ext.set_event_done('c2', 5, 1);
select pgq_ext.set_event_done('c1', 's1', 6, 1);
select pgq_ext.is_event_done('c1', 's1', 5, 1);
select pgq_ext.is_event_done('c1', 's2', 5, 1);
select pgq_ext.is_event_done('c1', 's1', 6, 1);
select pgq_ext.is_event_done('c1', 1, 101);
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;

-- batch tracking is separate from event tracking
select pgq_ext.set_batch_done('c1', 1);
select pgq_ext.is_event_done('c1', 1, 101);
select count(*) from pgq_ext.completed_batch;

-- NULLs: never done, and not recordable
select pgq_ext.is_event_done('c1', null, 101);
select pgq_ext.is_event_done('c1', 1, null);
select pgq_ext.is_event_done(null, 1, 101);
select pgq_ext.is_event_done('c1', null, 1, 101);
select pgq_ext.set_event_done('c1', 1, null);
select pgq_ext.set_event_done('c1', null, 101);
select pgq_ext.set_event_done('c9', null, 101);
select pgq_ext.set_event_done('c9', 1, null);
select pgq_ext.set_event_done(null, 1, 101);
select pgq_ext.set_event_done('c1', null, 1, 101);
select pgq_ext.set_event_done(null, null, null, null);
select * from pgq_ext.completed_event order by 1, 2, 3, 4;
select * from pgq_ext.partial_batch order by 1, 2;

-- a failed batch rolls the records back with the work
begin;
select pgq_ext.set_event_done('c2', 6, 1);
select pgq_ext.set_event_done('c2', 6, 2);
rollback;
select pgq_ext.is_event_done('c2', 6, 1);
select pgq_ext.is_event_done('c2', 5, 1);
select * from pgq_ext.partial_batch order by 1, 2;
