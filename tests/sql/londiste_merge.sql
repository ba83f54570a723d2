-- londiste partition merging: part queues feeding one table on a merge leaf
-- whose combined queue is in the same database, merge_all / no_merge, the
-- copy coordination (_coordinate_copy: lead, wait-copy, wait-replay,
-- copy_pos) and a missing primary key dropped by the lead.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its londiste too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'londiste') then
        create extension londiste cascade;
    end if;
end $$;

create function qevents(q text) returns table (ev_type text, ev_data text, ev_extra1 text, ev_extra2 text)
language plpgsql as $$ begin
    return query execute 'select ev_type, ev_data, ev_extra1, ev_extra2 from '
        || pgq.current_event_table(q) || ' order by ev_id';
end $$;

create table mt (id int4 primary key, data text);
select * from pgq_node.register_location('cq', 'croot', 'dbname=c', false);
select * from pgq_node.create_node('cq', 'root', 'croot', 'cw', null, null, null);
select * from pgq_node.register_location('p1', 'src1', 'dbname=s1', false);
select * from pgq_node.register_location('p1', 'm1', 'dbname=m', false);
select * from pgq_node.create_node('p1', 'leaf', 'm1', 'w1', 'src1', 1, 'cq');
select * from pgq_node.register_location('p2', 'src2', 'dbname=s2', false);
select * from pgq_node.register_location('p2', 'm2', 'dbname=m', false);
select * from pgq_node.create_node('p2', 'leaf', 'm2', 'w2', 'src2', 1, 'cq');
select * from pgq_node.register_location('p3', 'src3', 'dbname=s3', false);
select * from pgq_node.register_location('p3', 'm3', 'dbname=m', false);
select * from pgq_node.create_node('p3', 'leaf', 'm3', 'w3', 'src3', 1, 'cq');

-- the set reaches the combined queue too
select * from londiste.global_add_table('p1', 'mt');
select * from londiste.global_add_table('p2', 'mt');
select * from londiste.global_add_table('p3', 'public.mt');
select queue_name, table_name, local, merge_state from londiste.table_info order by 1, 2;

select * from londiste.local_add_table('p1', 'mt', array['merge_all', 'no_merge']);
select * from londiste.local_add_table('p1', 'mt');
select queue_name, table_name, local, merge_state from londiste.table_info order by 1, 2;
select * from londiste.local_add_table('p1', 'mt', array['merge_all']);
select queue_name, table_name, local, merge_state, table_attrs from londiste.table_info order by 1, 2;
select tgrelid::regclass, tgname, encode(tgargs, 'escape') as args from pg_trigger
 where tgname like '%londiste%' order by 1, 2;
select * from londiste.local_add_table('p2', 'mt', array['merge_all']);
select * from londiste.local_show_missing('p1');

-- copy coordination
select * from londiste._coordinate_copy('p1', 'public.mt');
select * from londiste._coordinate_copy('p1', 'public.nosuch');
select * from londiste.local_set_table_state('p1', 'mt', null, 'in-copy');
select * from londiste.local_set_table_state('p2', 'mt', null, 'in-copy');
select * from londiste.local_set_table_state('p3', 'mt', null, 'in-copy');
select 'p1' as q, * from londiste._coordinate_copy('p1', 'public.mt')
union all select 'p2', * from londiste._coordinate_copy('p2', 'public.mt')
union all select 'p3', * from londiste._coordinate_copy('p3', 'public.mt');
-- the lead dropped the DDL
select * from londiste.local_set_table_struct('p1', 'public.mt', 'alter table public.mt add primary key (id)');
alter table mt drop constraint mt_pkey;
select 'p1' as q, * from londiste._coordinate_copy('p1', 'public.mt')
union all select 'p2', * from londiste._coordinate_copy('p2', 'public.mt')
union all select 'p3', * from londiste._coordinate_copy('p3', 'public.mt');
select * from londiste.get_table_list('p2');
select * from londiste.local_set_table_state('p1', 'mt', '1:2:', 'catching-up');
select 'p1' as q, * from londiste._coordinate_copy('p1', 'public.mt')
union all select 'p2', * from londiste._coordinate_copy('p2', 'public.mt')
union all select 'p3', * from londiste._coordinate_copy('p3', 'public.mt');
select * from londiste.local_set_table_state('p2', 'mt', '1:2:', 'catching-up');
select * from londiste.local_set_table_state('p3', 'mt', '1:2:', 'catching-up');
select 'p1' as q, * from londiste._coordinate_copy('p1', 'public.mt')
union all select 'p2', * from londiste._coordinate_copy('p2', 'public.mt')
union all select 'p3', * from londiste._coordinate_copy('p3', 'public.mt');

-- no primary key: allowed only while a sibling holds the dropped DDL
select * from londiste.local_remove_table('p3', 'mt');
select * from londiste.local_add_table('p3', 'mt', array['merge_all']);
select * from londiste.local_add_table('cq', 'mt');
-- removal with saved DDL restores it
select * from londiste.local_remove_table('p1', 'mt');
select conname from pg_constraint where conrelid = 'mt'::regclass;
select queue_name, table_name, local, merge_state, dropped_ddl from londiste.table_info order by 1, 2;

-- no_merge takes only this queue's copy
select * from londiste.local_remove_table('p2', 'mt');
select * from londiste.local_remove_table('p3', 'mt');
select * from londiste.local_remove_table('cq', 'mt');
select * from londiste.global_add_table('p1', 'mt');
select * from londiste.local_add_table('p2', 'mt', array['no_merge']);
select queue_name, table_name, local, merge_state from londiste.table_info order by 1, 2;
select * from londiste.local_add_table('p1', 'mt');
select * from londiste.local_add_table('p1', 'mt', array['merge_all']);
-- renamed destination on a part
create table mt2 (id int4 primary key, data text);
select * from londiste.global_add_table('p3', 'other.mt');
select * from londiste.local_add_table('p3', 'other.mt', null, null, 'mt2');
select * from londiste.local_add_table('p3', 'other.mt', null, null, 'mt2');
select queue_name, table_name, local, merge_state, dest_table from londiste.table_info order by 1, 2;
select tgrelid::regclass, tgname, encode(tgargs, 'escape') as args from pg_trigger
 where tgname like '%londiste%' order by 1, 2;
select * from londiste.local_show_missing('cq');
