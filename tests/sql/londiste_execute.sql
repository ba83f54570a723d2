-- londiste EXECUTE bookkeeping (start/finish on root and elsewhere, files
-- run once, maintenance) and foreign keys dropped for a copy and restored
-- (at once or lazily), with the choice of the queue that restores them.
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

select * from pgq_node.register_location('rq', 'root1', 'dbname=root1', false);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, null);
select * from pgq_node.register_location('bq', 'root1', 'dbname=root1', false);
select * from pgq_node.register_location('bq', 'br1', 'dbname=br1', false);
select * from pgq_node.create_node('bq', 'branch', 'br1', 'bw', 'root1', 1, null);

-- EXECUTE
select * from londiste.execute_start('bq', 'a.sql', 'select 1', true);
select * from londiste.execute_start('nq', 'a.sql', 'select 1', true);
select * from londiste.execute_start('rq', 'a.sql', 'create table x1 (id int)', true, 'local-table=public.x1');
select * from londiste.execute_start('rq', 'a.sql', 'create table x1 (id int)', true);
select * from londiste.execute_finish('rq', 'a.sql');
select * from londiste.execute_finish('rq', 'b.sql');
select ev_type, ev_data, ev_extra1, ev_extra2 from qevents('rq');
-- the file name is the key, whatever the queue
select * from londiste.execute_start('bq', 'a.sql', 'x', false);
select * from londiste.execute_start('bq', 'b.sql', 'select 2', false);
select * from londiste.execute_finish('bq', 'b.sql');
select * from londiste.execute_start('nq', 'c.sql', 'select 3', false, null);
select * from londiste.execute_finish('nq', 'c.sql');
select queue_name, execute_file, execute_sql, execute_attrs from londiste.applied_execute order by 2;
select * from londiste.execute_finish(null, 'c.sql');
select * from londiste.execute_start('rq', 'd.sql', null, false);
update londiste.applied_execute set execute_time = now() - '4 months'::interval where execute_file = 'b.sql';
select londiste.periodic_maintenance();
select execute_file from londiste.applied_execute order by 1;

-- foreign keys
create table parent (id int4 primary key);
create table child (id int4 primary key, pid int4 constraint "Child FK" references parent on delete cascade);
create table other (id int4 primary key, pid int4 references parent, cid int4 references child);
select * from londiste.find_table_fkeys('parent');
select * from londiste.find_table_fkeys('public.child');
select * from londiste.find_table_fkeys('nosuch');
select londiste.drop_table_fkey('public.child', 'Child FK');
select londiste.drop_table_fkey('public.child', 'Child FK');
select londiste.drop_table_fkey('child', 'other_pid_fkey');
select londiste.drop_table_fkey('public.other', 'other_pid_fkey');
select londiste.drop_table_fkey('public.other', 'other_cid_fkey');
select * from londiste.find_table_fkeys('parent');
select * from londiste.get_table_pending_fkeys('public.parent');
select * from londiste.get_table_pending_fkeys('public.other');
select * from londiste.get_table_pending_fkeys('parent');

-- restorable once both sides are applied here and in sync
select * from londiste.get_valid_pending_fkeys('bq');
select * from londiste.global_add_table('bq', 'parent');
select * from londiste.global_add_table('bq', 'child');
select * from londiste.local_add_table('bq', 'parent');
select * from londiste.local_add_table('bq', 'child', array['expect_sync']);
select * from londiste.get_valid_pending_fkeys('bq');
select * from londiste.local_set_table_state('bq', 'parent', '10:20:', 'ok');
select * from londiste.get_valid_pending_fkeys('bq');
select * from londiste.local_set_table_state('bq', 'parent', null, 'ok');
select * from londiste.get_valid_pending_fkeys('bq');
select * from londiste.get_valid_pending_fkeys('rq');
-- the same tables on the root too: the first queue by name restores
select * from londiste.local_add_table('rq', 'parent');
select * from londiste.local_add_table('rq', 'child');
select * from londiste.get_valid_pending_fkeys('bq');
select * from londiste.get_valid_pending_fkeys('rq');

select londiste.restore_table_fkey('public.child', 'Child FK');
select londiste.restore_table_fkey('public.child', 'Child FK');
select londiste.restore_table_fkey('public.other', 'other_pid_fkey', true);
select londiste.restore_table_fkey('public.other', 'other_pid_fkey', true);
alter table only public.other add constraint other_pid_fkey FOREIGN KEY (pid) REFERENCES parent(id) not valid;
select londiste.restore_table_fkey('public.other', 'other_pid_fkey', true);
alter table only public.other validate constraint other_pid_fkey;
select londiste.restore_table_fkey('public.other', 'other_pid_fkey', true);
select londiste.restore_table_fkey('public.other', 'other_cid_fkey', false);
select * from londiste.pending_fkeys;
select conname, convalidated from pg_constraint where contype = 'f' order by 1;
