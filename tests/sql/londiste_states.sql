-- londiste table states off the root: a branch takes tables from the set
-- (copy needed, or expect_sync), the copy states the worker and the copy
-- process store, saved DDL, removal (restoring saved DDL), and a leaf's
-- deny triggers.
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

create table t1 (id serial primary key, data text);
create table t2 (id int4 primary key, data text);
create table t3 (id int4 primary key, data text);
create table t4 (id int4 primary key, data text);
select * from pgq_node.register_location('bq', 'root1', 'dbname=root1', false);
select * from pgq_node.register_location('bq', 'br1', 'dbname=br1', false);
select * from pgq_node.create_node('bq', 'branch', 'br1', 'bw', 'root1', 1, null);

-- only tables of the set can be applied
select * from londiste.local_add_table('bq', 't1');
select * from londiste.global_add_table('bq', 't1');
select * from londiste.global_add_table('bq', 'public.t2');
select * from londiste.global_add_table('bq', 't3');
select * from londiste.global_add_table('bq', 'public.t4');
select * from londiste.global_add_table('bq', 'public.gone');
select * from londiste.local_show_missing('bq');
select * from londiste.local_add_table('bq', 't1');
select * from londiste.local_add_table('bq', 't2', array['expect_sync'], 'handler=x');
select * from londiste.local_add_table('bq', 't2', array['expect_sync'], 'handler=y');
select * from londiste.local_add_table('bq', 't3', array['skip_truncate'], 'a=1');
select * from londiste.local_add_table('bq', 't4', array['virtual_table']);
select * from londiste.local_add_table('bq', 'gone');
select * from londiste.local_add_table('bq', 'gone', array['virtual_table']);
select * from londiste.get_table_list('bq');
select * from londiste.local_show_missing('bq');
select tgrelid::regclass, tgname, encode(tgargs, 'escape') as args from pg_trigger
 where tgname like '%londiste%' order by 1, 2;
-- a branch sends nothing itself
select count(*) from qevents('bq');

-- the copy states
select * from londiste.local_set_table_state('bq', 't1', null, 'in-copy');
select * from londiste.local_set_table_struct('bq', 'public.t1', 'create index t1_data on public.t1 (data)');
select * from londiste.local_set_table_state('bq', 'public.t1', '1000:1005:1001', 'catching-up');
select * from londiste.get_table_list('bq');
select * from londiste.local_set_table_state('bq', 't1', '1000:1005:1001', 'ok');
select * from londiste.local_set_table_state('bq', 't1', null, 'wanna-sync:5');
select * from londiste.local_set_table_state('bq', 't1', null, 'do-sync:5');
select * from londiste.local_set_table_state('bq', 't1', null, null);
select * from londiste.local_set_table_state('bq', 'nosuch', null, 'ok');
select * from londiste.local_set_table_state('bq', 'gone', null, 'ok');
select * from londiste.local_set_table_struct('bq', 'public.t2', 'x');
select * from londiste.local_set_table_struct('bq', 't2', 'x');
select * from londiste.local_set_table_attrs('bq', 'public.t2', 'handler=z');
select * from londiste.local_set_table_attrs('bq', 't2', 'handler=z');
select * from londiste.local_set_table_attrs('bq', 'public.gone', 'handler=z');
select * from londiste.get_table_list('bq');

-- removing a table in a merge copy puts its saved DDL back on an empty table
select * from londiste.local_set_table_state('bq', 't1', null, 'in-copy');
insert into t1 (data) values ('a'), ('b');
select * from londiste.local_set_table_struct('bq', 'public.t1', 'create index t1_data on public.t1 (data)');
select * from londiste.local_remove_table('bq', 't1');
select count(*) from t1;
select indexrelid::regclass from pg_index where indrelid = 't1'::regclass order by 1;
select * from londiste.local_remove_table('bq', 't1');
select * from londiste.local_remove_table('bq', 'nosuch');
select * from londiste.get_table_list('bq');
-- leaving the set takes local use with it
select * from londiste.global_remove_table('bq', 't2');
select * from londiste.global_remove_table('bq', 't2');
select tgrelid::regclass, tgname from pg_trigger where tgname like '%londiste%' order by 1, 2;
select * from londiste.get_table_list('bq');

-- a leaf: deny triggers
select * from pgq_node.register_location('lq', 'root1', 'dbname=root1', false);
select * from pgq_node.register_location('lq', 'leaf1', 'dbname=leaf1', false);
select * from pgq_node.create_node('lq', 'leaf', 'leaf1', 'lw', 'root1', 1, null);
select * from londiste.global_add_table('lq', 't2');
select * from londiste.local_add_table('lq', 't2', array['tgflags=IU', 'backup']);
select tgrelid::regclass, tgname, tgtype, encode(tgargs, 'escape') as args from pg_trigger
 where tgname like '%londiste%' order by 1, 2;
insert into t2 values (1, 'x');
select * from londiste.local_remove_table('lq', 't2');
select * from londiste.get_table_list('lq');
select * from londiste.get_table_list('nq');

-- dropping the node drops the registrations and the triggers with them
select * from londiste.local_add_table('lq', 't2');
select * from londiste.local_add_table('bq', 't3');
select count(*) from pg_trigger where tgname like '%londiste%';
select * from pgq_node.drop_node('lq', 'leaf1');
select queue_name, table_name from londiste.table_info order by 1, 2;
select tgrelid::regclass, tgname from pg_trigger where tgname like '%londiste%' order by 1, 2;
