-- oracle: skip (skydeck-only: the revision function, and the documented deviations from the original pgq_node)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- the API level implemented and the revision of sql/pgq_node.sql
select pgq_node.version(), pgq_node.skydeck_revision();
select has_function_privilege('public', 'pgq_node.skydeck_revision()', 'execute');

-- demote_root step 2 takes the lock and makes the final tick in the replica
-- role, but gives the caller's transaction its own role back (the original
-- leaves the transaction in the replica role, where ordinary triggers of
-- anything else it does would stay silent)
select * from pgq_node.register_location('dq', 'n1', 'dbname=n1', false);
select * from pgq_node.create_node('dq', 'root', 'n1', 'w1', null, null, null);
select * from pgq_node.demote_root('dq', 1, 'n1');
begin;
select current_setting('session_replication_role');
select * from pgq_node.demote_root('dq', 2, 'n1');
select current_setting('session_replication_role');
-- the lock on the queue's event tables is held until commit
select c.relname, l.mode
  from pg_locks l join pg_class c on c.oid = l.relation
 where l.pid = pg_backend_pid() and l.mode = 'ExclusiveLock'
   and c.relname like 'event\_%'
 order by 1;
commit;
-- a role set by the caller is kept as well
begin;
set local session_replication_role = 'local';
select * from pgq_node.demote_root('dq', 2, 'n1');
select current_setting('session_replication_role');
commit;

-- get_queue_locations lists members by name (the original returns them in
-- storage order, which changes as rows are updated)
select * from pgq_node.register_location('oq', 'b', 'dbname=b', false);
select * from pgq_node.register_location('oq', 'a', 'dbname=a', false);
select * from pgq_node.register_location('oq', 'c', 'dbname=c', false);
select * from pgq_node.register_location('oq', 'a', 'dbname=a2', true);
select * from pgq_node.get_queue_locations('oq');

-- every security definer function runs with a fixed search_path
select p.proname, p.proconfig
  from pg_proc p
 where p.pronamespace = 'pgq_node'::regnamespace and p.prosecdef
   and p.proconfig is distinct from '{"search_path=pg_catalog, pg_temp"}'
 order by 1;
