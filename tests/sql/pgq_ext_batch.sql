-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Tracking applied batches by batch id: only the latest batch is kept per
-- (consumer, subconsumer), since batches are applied in order.

-- nothing recorded yet
select pgq_ext.is_batch_done('c1', 1);
select pgq_ext.is_batch_done('c1', '', 1);
select count(*) from pgq_ext.completed_batch;

-- first record, then a repeat is refused
select pgq_ext.set_batch_done('c1', 1);
select pgq_ext.is_batch_done('c1', 1);
select pgq_ext.is_batch_done('c1', '', 1);
select pgq_ext.set_batch_done('c1', 1);
select pgq_ext.set_batch_done('c1', '', 1);
select * from pgq_ext.completed_batch order by 1, 2;

-- the next batch replaces it: the old one is no longer known
select pgq_ext.is_batch_done('c1', 2);
select pgq_ext.set_batch_done('c1', 2);
select pgq_ext.is_batch_done('c1', 2);
select pgq_ext.is_batch_done('c1', 1);
select * from pgq_ext.completed_batch order by 1, 2;
-- going back is recorded too (the consumer was repositioned)
select pgq_ext.set_batch_done('c1', 1);
select * from pgq_ext.completed_batch order by 1, 2;

-- subconsumers and consumers are tracked separately
select pgq_ext.set_batch_done('c1', 'sub1', 7);
select pgq_ext.set_batch_done('c1', 'sub2', 8);
select pgq_ext.set_batch_done('c2', 9);
select pgq_ext.is_batch_done('c1', 'sub1', 7);
select pgq_ext.is_batch_done('c1', 'sub2', 7);
select pgq_ext.is_batch_done('c1', 7);
select pgq_ext.is_batch_done('c2', 'sub1', 9);
select pgq_ext.set_batch_done('c1', 'sub1', 7);
select pgq_ext.set_batch_done('c1', 'sub1', 10);
select * from pgq_ext.completed_batch order by 1, 2;

-- batch ids that are not positive are accepted but not stored
select pgq_ext.set_batch_done('c3', 0);
select pgq_ext.set_batch_done('c3', 0);
select pgq_ext.set_batch_done('c3', -5);
select pgq_ext.is_batch_done('c3', 0);
select pgq_ext.set_batch_done('c1', 0);
select pgq_ext.is_batch_done('c1', 0);
select pgq_ext.is_batch_done('c1', 1);
select * from pgq_ext.completed_batch order by 1, 2;

-- NULLs
select pgq_ext.is_batch_done('c1', null);
select pgq_ext.is_batch_done('c9', null);
select pgq_ext.is_batch_done(null, 1);
select pgq_ext.is_batch_done('c1', null, 1);
select pgq_ext.set_batch_done('c1', null);
select pgq_ext.set_batch_done('c9', null);
select pgq_ext.set_batch_done(null, 0);
select pgq_ext.set_batch_done(null, 5);
select pgq_ext.set_batch_done('c1', null, 5);
select pgq_ext.set_batch_done(null, null, null);
select * from pgq_ext.completed_batch order by 1, 2;

-- names are compared as they are
select pgq_ext.set_batch_done('C1', 100);
select pgq_ext.set_batch_done('c1 ', 101);
select pgq_ext.set_batch_done('c1', ' ', 102);
select pgq_ext.is_batch_done('C1', 1);
select pgq_ext.is_batch_done('c1', 1);
select * from pgq_ext.completed_batch order by 1, 2;

-- a failed batch rolls the record back with the work
begin;
select pgq_ext.set_batch_done('c2', 11);
rollback;
select pgq_ext.is_batch_done('c2', 11);
select pgq_ext.is_batch_done('c2', 9);
