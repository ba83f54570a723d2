-- The shape of schema pgq_node: tables, columns, defaults, constraints, and
-- every function's arguments, result columns, language properties.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its pgq_node too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'pgq_node') then
        create extension pgq_node;
    end if;
end $$;

select c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) as type,
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid) as default
  from pg_class c
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
 where c.relnamespace = 'pgq_node'::regnamespace
 order by 1, 2;

select conrelid::regclass as tbl, conname, pg_get_constraintdef(oid) as def
  from pg_constraint
 where connamespace = 'pgq_node'::regnamespace
 order by 1::text, 2;

select c.relname, c.relkind, i.indisprimary, pg_get_indexdef(i.indexrelid) as def
  from pg_index i join pg_class c on c.oid = i.indexrelid
 where c.relnamespace = 'pgq_node'::regnamespace
 order by 1;

select p.oid::regprocedure::text as function,
       pg_get_function_arguments(p.oid) as arguments,
       pg_get_function_result(p.oid) as result
  from pg_proc p
 where p.pronamespace = 'pgq_node'::regnamespace
   and p.proname <> 'skydeck_revision'
 order by 1;

select p.proname, l.lanname, p.provolatile, p.proisstrict, p.proretset, p.prosecdef
  from pg_proc p join pg_language l on l.oid = p.prolang
 where p.pronamespace = 'pgq_node'::regnamespace
   and p.proname <> 'skydeck_revision'
 order by 1;

-- the API level tools see, and what an upgrade finds to do
select pgq_node.version();
select pgq_node.upgrade_schema();
