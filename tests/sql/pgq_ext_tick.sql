-- oracle: skip (no packaged original; matched against upstream pgq_coop/pgq_ext SQL during development)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Tracking the last applied tick (SerialConsumer); NULL forgets it.

select pgq_ext.get_last_tick('c1');
select pgq_ext.get_last_tick('c1', '');
select pgq_ext.set_last_tick('c1', 5);
select pgq_ext.get_last_tick('c1');
select pgq_ext.get_last_tick('c1', '');
select pgq_ext.set_last_tick('c1', 6);
select pgq_ext.get_last_tick('c1');
-- any value goes, backwards too
select pgq_ext.set_last_tick('c1', 3);
select pgq_ext.get_last_tick('c1');
select pgq_ext.set_last_tick('c1', 0);
select pgq_ext.get_last_tick('c1');
select pgq_ext.set_last_tick('c1', -1);
select pgq_ext.get_last_tick('c1');
select pgq_ext.set_last_tick('c1', 9223372036854775807);
select * from pgq_ext.completed_tick order by 1, 2;

-- per subconsumer
select pgq_ext.set_last_tick('c1', 's1', 10);
select pgq_ext.set_last_tick('c1', 's2', 20);
select pgq_ext.set_last_tick('c2', 30);
select pgq_ext.get_last_tick('c1', 's1');
select pgq_ext.get_last_tick('c1', 's2');
select pgq_ext.get_last_tick('c1', 's3');
select pgq_ext.get_last_tick('c2');
select pgq_ext.get_last_tick('c3');
select * from pgq_ext.completed_tick order by 1, 2;

-- NULL deletes; deleting what is not there is fine
select pgq_ext.set_last_tick('c1', null);
select pgq_ext.get_last_tick('c1');
select pgq_ext.set_last_tick('c1', null);
select pgq_ext.set_last_tick('c1', 's2', null);
select pgq_ext.set_last_tick('nobody', 'x', null);
select * from pgq_ext.completed_tick order by 1, 2;

-- NULL names
select pgq_ext.get_last_tick(null);
select pgq_ext.get_last_tick('c1', null);
select pgq_ext.set_last_tick(null, null);
select pgq_ext.set_last_tick(null, 1);
select pgq_ext.set_last_tick('c1', null, 1);
select pgq_ext.set_last_tick(null, null, null);
select * from pgq_ext.completed_tick order by 1, 2;

-- the record goes with the transaction
begin;
select pgq_ext.set_last_tick('c2', 31);
select pgq_ext.get_last_tick('c2');
rollback;
select pgq_ext.get_last_tick('c2');
begin;
select pgq_ext.set_last_tick('c2', null);
rollback;
select pgq_ext.get_last_tick('c2');
