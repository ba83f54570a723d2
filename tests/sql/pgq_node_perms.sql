-- Who may call what in pgq_node: the grants to pgq_reader, pgq_writer,
-- pgq_admin and public, and each role doing its job (or being refused).
-- Test roles get names unique to this database so runs can share a cluster.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

-- the grants themselves (skydeck's revision function aside)
select p.oid::regprocedure::text as function,
       string_agg(coalesce(r.rolname, 'public') || ':' || a.privilege_type, ', '
                  order by coalesce(r.rolname, 'public')) as granted
  from pg_proc p
  cross join aclexplode(p.proacl) a
  left join pg_roles r on r.oid = a.grantee
 where p.pronamespace = 'pgq_node'::regnamespace
   and a.grantee <> p.proowner
   and p.proname <> 'skydeck_revision'
 group by 1
 order by 1;
select proname, prosecdef
  from pg_proc where pronamespace = 'pgq_node'::regnamespace and proname <> 'skydeck_revision'
 order by 1;
select c.relname,
       string_agg(coalesce(r.rolname, 'public') || ':' || a.privilege_type, ', '
                  order by coalesce(r.rolname, 'public'), a.privilege_type) as granted
  from pg_class c
  cross join aclexplode(c.relacl) a
  left join pg_roles r on r.oid = a.grantee
 where c.relnamespace = 'pgq_node'::regnamespace and c.relkind = 'r'
   and a.grantee <> c.relowner
 group by 1 order by 1;
select has_schema_privilege('public', 'pgq_node', 'usage') as public_usage;

select 'pgqnt_admin_' || current_database() as r_admin,
       'pgqnt_writer_' || current_database() as r_writer,
       'pgqnt_reader_' || current_database() as r_reader,
       'pgqnt_nobody_' || current_database() as r_nobody \gset
create role :"r_admin" in role pgq_admin;
create role :"r_writer" in role pgq_writer;
create role :"r_reader" in role pgq_reader;
create role :"r_nobody";

-- the admin sets up the node and runs the take-over steps
set role :"r_admin";
select * from pgq_node.register_location('pq', 'n1', 'dbname=n1', false);
select * from pgq_node.register_location('pq', 'n2', 'dbname=n2', false);
select * from pgq_node.create_node('pq', 'root', 'n1', 'n1_worker', null, null, null);
select * from pgq_node.set_node_attrs('pq', 'x=1');
select * from pgq_node.register_subscriber('pq', 'n2', 'n2_worker', null);
select * from pgq_node.set_global_watermark('pq', null);
select pgq_node.maint_watermark('pq');
select pgq_node.upgrade_schema();
select ret_code, node_type from pgq_node.get_worker_state('pq');
select * from pgq_node.register_location('lq', 'n1', 'dbname=n1', false);
select * from pgq_node.create_node('lq', 'leaf', 'n1', 'lw', 'n1', 1, 'pq');
select * from pgq_node.set_partition_watermark('pq', 'lq', 1);
select * from pgq_node.demote_root('pq', 1, 'n2');
select * from pgq_node.demote_root('pq', 2, 'n2');
select * from pgq_node.demote_root('pq', 3, 'n2');
select * from pgq_node.promote_branch('pq');
select count(*) from pgq_node.node_location;
reset role;

-- a cascaded consumer's target side (writer)
set role :"r_writer";
select * from pgq_node.register_consumer('pq', 'cons', 'n1', 1);
select * from pgq_node.set_consumer_uptodate('pq', 'cons', true);
select * from pgq_node.set_consumer_paused('pq', 'cons', true);
select * from pgq_node.set_consumer_paused('pq', 'cons', false);
select * from pgq_node.set_consumer_error('pq', 'cons', 'oops');
select * from pgq_node.set_consumer_completed('pq', 'cons', 1);
select * from pgq_node.change_consumer_provider('pq', 'cons', 'n2');
select ret_code, provider_node from pgq_node.get_consumer_state('pq', 'cons');
select consumer_name from pgq_node.get_consumer_info('pq');
select * from pgq_node.unregister_consumer('pq', 'cons');
select count(*) from pgq_node.local_state;
select pgq_node.is_root_node('pq');
-- but not the node itself
select * from pgq_node.create_node('wq', 'root', 'n1', 'w', null, null, null);
select * from pgq_node.register_location('pq', 'n3', 'dbname=n3', false);
select ret_code from pgq_node.get_worker_state('pq');
select pgq_node.maint_watermark('pq');
delete from pgq_node.local_state;
reset role;

-- a subscriber's worker on its provider (reader)
set role :"r_reader";
select ret_code, node_type, node_name from pgq_node.get_node_info('pq');
select * from pgq_node.get_queue_locations('pq');
select * from pgq_node.get_subscriber_info('pq');
select * from pgq_node.set_subscriber_watermark('pq', 'n2', 1);
select ret_code from pgq_node.get_consumer_state('pq', 'n1_worker');
select * from pgq_node.unregister_subscriber('pq', 'n2');
select * from pgq_node.register_subscriber('pq', 'n2', 'n2_worker', null);
select count(*) from pgq_node.subscriber_info;
select pgq_node.is_leaf_node('lq');
-- but no target-side or node work
select * from pgq_node.set_consumer_completed('pq', 'n1_worker', 1);
select * from pgq_node.register_consumer('pq', 'c', 'n1', 1);
select * from pgq_node.set_global_watermark('pq', null);
select * from pgq_node.drop_node('pq', 'n2');
update pgq_node.node_info set node_attrs = null;
reset role;

-- anybody else: the version and the two type tests, which read node_info
-- with the caller's rights
set role :"r_nobody";
select pgq_node.version();
select pgq_node.is_root_node('pq');
select ret_code from pgq_node.get_node_info('pq');
select * from pgq_node.get_queue_locations('pq');
select * from pgq_node.set_consumer_error('pq', 'n1_worker', 'x');
select pgq_node.maint_watermark('pq');
select pgq_node.upgrade_schema();
select count(*) from pgq_node.node_info;
reset role;

select * from pgq_node.drop_node('lq', 'n1');
select * from pgq_node.drop_node('pq', 'n1');
drop role :"r_admin";
drop role :"r_writer";
drop role :"r_reader";
drop role :"r_nobody";
