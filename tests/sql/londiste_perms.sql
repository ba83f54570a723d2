-- Who may call what in londiste: the grants to londiste_writer,
-- londiste_reader, pgq_admin and public, the roles' memberships, function
-- attributes (strict, volatility, security definer), and the session role
-- helper.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its londiste too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'londiste') then
        create extension londiste cascade;
    end if;
end $$;

-- the grants on functions (skydeck's own helpers aside)
select p.oid::regprocedure::text as function,
       string_agg(coalesce(r.rolname, 'public') || ':' || a.privilege_type, ', '
                  order by coalesce(r.rolname, 'public')) as granted
  from pg_proc p
  cross join aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
  left join pg_roles r on r.oid = a.grantee
 where p.pronamespace = 'londiste'::regnamespace
   and a.grantee <> p.proowner
   and p.proname not in ('skydeck_revision', '_partition_suffix', '_url_decode', 'merge_on_time')
 group by 1
 order by 1;
-- every function with its result type and attributes
select p.oid::regprocedure::text as function, pg_get_function_result(p.oid) as result,
       p.proisstrict, p.provolatile, p.prosecdef, p.proretset
  from pg_proc p
 where p.pronamespace = 'londiste'::regnamespace
   and p.proname not in ('skydeck_revision', '_partition_suffix', '_url_decode', 'merge_on_time')
 order by 1;
select pg_get_function_arguments('londiste.restore_table_fkey(text,text,boolean)'::regprocedure);
select c.relname, c.relkind,
       string_agg(coalesce(r.rolname, 'public') || ':' || a.privilege_type, ', '
                  order by coalesce(r.rolname, 'public'), a.privilege_type) as granted
  from pg_class c
  cross join aclexplode(c.relacl) a
  left join pg_roles r on r.oid = a.grantee
 where c.relnamespace = 'londiste'::regnamespace and c.relkind in ('r', 'S')
   and a.grantee <> c.relowner
 group by 1, 2 order by 1;
select has_schema_privilege('public', 'londiste', 'usage') as public_usage;
select r.rolname, m.rolname as member_of
  from pg_auth_members am
  join pg_roles r on r.oid = am.member
  join pg_roles m on m.oid = am.roleid
 where r.rolname in ('londiste_writer', 'londiste_reader')
 order by 1, 2;
-- the tables: columns, keys, checks, triggers
select c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) as def
  from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
 where c.relnamespace = 'londiste'::regnamespace and c.relkind = 'r'
 order by 1, 2;
select conrelid::regclass, conname, pg_get_constraintdef(oid)
  from pg_constraint where connamespace = 'londiste'::regnamespace order by 1, 2;
select tgname, tgtype, tgfoid::regproc from pg_trigger
 where tgrelid = 'londiste.table_info'::regclass and not tgisinternal;

-- the session role helper: transaction or session scope, three values
begin;
select londiste.set_session_replication_role('replica', true);
show session_replication_role;
select londiste.set_session_replication_role('local', true);
show session_replication_role;
commit;
show session_replication_role;
select londiste.set_session_replication_role('local', false);
show session_replication_role;
select londiste.set_session_replication_role('origin', null);
show session_replication_role;
select londiste.set_session_replication_role('bogus', false);
select londiste.set_session_replication_role(null, false);
