-- londiste on the root: adding and removing tables, the triggers add-table
-- puts on them (flags, arguments, SKIP), the events the nodes hear, the
-- missing list, handler changes, and every refusal.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its londiste too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'londiste') then
        create extension londiste cascade;
    end if;
end $$;

create table t1 (id int4 primary key, data text);
create table t2 (id serial primary key, data text);
create table nopk (id int4, data text);
create schema "Odd S";
create table "Odd S"."T x" (id int4 primary key);
-- the events of a queue, oldest first
create function qevents(q text) returns table (ev_type text, ev_data text, ev_extra1 text, ev_extra2 text)
language plpgsql as $$ begin
    return query execute 'select ev_type, ev_data, ev_extra1, ev_extra2 from '
        || pgq.current_event_table(q) || ' order by ev_id';
end $$;

-- a queue not set up yet
select * from londiste.local_add_table('rq', 't1');
select * from londiste.global_add_table('rq', 't1');

select * from pgq_node.register_location('rq', 'root1', 'dbname=root1', false);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, null);

-- what could be added
select * from londiste.local_show_missing('rq');

-- refusals before registration
select * from londiste.local_add_table('rq', 'nosuch');
select * from londiste.local_add_table('rq', 'nopk');
select * from londiste.local_add_table('rq', 't1', array['merge_all', 'no_merge']);
select count(*) from londiste.table_info;

-- plain add: on the root the table joins the set with state ok
select * from londiste.local_add_table('rq', 't1');
select * from londiste.local_add_table('rq', 't1');
select * from londiste.local_add_table('rq', 'public.t1', null, 'handler=foo');
select * from londiste.get_table_list('rq');
select tgname, tgtype, tgnargs, encode(tgargs, 'escape') as args, tgfoid::regproc
  from pg_trigger where tgrelid = 't1'::regclass order by tgname;
select ev_type, ev_data from qevents('rq') where ev_type like 'londiste.%';

-- trigger flags, extra arguments and attributes
select * from londiste.local_add_table('rq', 't2', array['tgflags=BIUQ', 'ignore=data', 'skip_truncate', 'expect_sync'], 'handler=x');
select * from londiste.get_table_list('rq');
select tgname, tgtype, tgnargs, encode(tgargs, 'escape') as args, tgfoid::regproc
  from pg_trigger where tgrelid = 't2'::regclass order by tgname;

-- odd names are quoted everywhere
select * from londiste.local_add_table('rq', 'Odd S.T x', array['tgflags=J']);
select tgname, tgtype, encode(tgargs, 'escape') as args, tgfoid::regproc
  from pg_trigger where tgrelid = '"Odd S"."T x"'::regclass order by tgname;

-- writes produce events
insert into t1 values (1, 'a');
update t1 set data = 'b' where id = 1;
insert into t2 (data) values ('x');
truncate t1;
select ev_type, ev_data, ev_extra1 from qevents('rq') where ev_type not like 'londiste.%';

select * from londiste.local_show_missing('rq');

-- handler changes
select * from londiste.local_change_handler('rq', 'public.t1', array['tgflags=IU'], 'handler=bulk');
select * from londiste.local_change_handler('rq', 'public.t1', array['no_triggers'], 'handler=vtable');
select * from londiste.local_change_handler('rq', 't1', null, null);
select * from londiste.local_change_handler('nq', 'public.t1', null, null);
select table_name, table_attrs from londiste.get_table_list('rq') order by 1;
select tgname, tgtype, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't1'::regclass order by tgname;

-- (create_trigger's trigger_name column: see londiste_skydeck)
-- skip triggers: a BEFORE trigger with SKIP is prefixed zzz_, an AFTER
-- trigger cannot join it, a second skip trigger is refused
select ret_code, ret_note from londiste.create_trigger('rq', 'public.t1', array['tgflags=BS'], 'public.t1', 'root');
select tgname, tgtype, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't1'::regclass order by tgname;
select ret_code, ret_note from londiste.create_trigger('rq', 'public.t1', null, 'public.t1', 'root');
select ret_code, ret_note from londiste.create_trigger('rq2', 'public.t1', array['tgflags=B', 'skip'], 'public.t1', 'root');
select tgname, tgtype, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't1'::regclass order by tgname;
create trigger other_skip before insert on t1 for each row execute procedure pgq.logutriga('xq', 'SKIP');
select ret_code, ret_note from londiste.create_trigger('rq3', 'public.t1', array['tgflags=BS'], 'public.t1', 'root');
select ret_code, ret_note from londiste.create_trigger('rq', 'public.t1', array['no_triggers'], 'public.t1', 'root');
select ret_code, ret_note from londiste.create_trigger('rq', 'public.t1', array['virtual_table'], 'public.t1', 'leaf');
drop trigger other_skip on t1;
drop trigger "_londiste_rq2" on t1;
drop trigger "_londiste_rq2_truncate" on t1;
-- a lone skip trigger without the prefix gets it
create table t3 (id int4 primary key);
create trigger myskip before insert on t3 for each row execute procedure pgq.logutriga('xq', 'SKIP');
select ret_code, ret_note from londiste.create_trigger('rq', 'public.t3', array['tgflags=BS'], 'public.t3', 'root');
select tgname, tgtype, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't3'::regclass order by tgname;
-- leaves get deny triggers
select ret_code, ret_note from londiste.create_trigger('lq', 'public.t3', array['tgflags=BI'], 'public.t3', 'leaf');
select tgname, tgtype, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't3'::regclass order by tgname;

-- renamed destination: events keep the global name
create table t1_copy (id int4 primary key, data text);
select ret_code, ret_note from londiste.create_trigger('rq9', 'public.t1', null, 'public.t1_copy', 'root');
select tgname, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't1_copy'::regclass order by tgname;
select ret_code, ret_note from londiste.create_trigger('rq9', 'public.t1', array['ev_extra1=''own'''], 'public.t1_copy', 'root');
select tgname, encode(tgargs, 'escape') as args from pg_trigger where tgrelid = 't1_copy'::regclass order by tgname;
select londiste.drop_table_triggers('rq9', 'public.t1');
select tgname from pg_trigger where tgrelid = 't1_copy'::regclass order by tgname;

-- removal: triggers go, the set forgets it, the nodes hear of it
select * from londiste.local_remove_table('rq', 't1');
select * from londiste.local_remove_table('rq', 't1');
select * from londiste.local_remove_table('rq', 'public.t2');
select * from londiste.local_remove_table('nq', 't2');
select tgname from pg_trigger where tgrelid in ('t1'::regclass, 't2'::regclass) order by tgname;
select table_name, local, merge_state from londiste.get_table_list('rq');
select * from londiste.get_seq_list('rq');
select ev_type, ev_data from qevents('rq') where ev_type like 'londiste.%';

-- global registrations on the root
select * from londiste.global_add_table('rq', 'gt');
select * from londiste.global_add_table('rq', 'public.gt');
select * from londiste.global_add_table('nq', 'gt');
select * from londiste.global_remove_table('rq', 'gt');
select * from londiste.global_remove_table('rq', 'gt');

-- deleting a registration drops its triggers too
select * from londiste.local_add_table('rq', 't1');
delete from londiste.table_info where table_name = 'public.t1';
select tgname from pg_trigger where tgrelid = 't1'::regclass order by tgname;

-- root_notify_change
select londiste.root_notify_change('rq', 'x.test', 'data');
select londiste.root_notify_change('nq', 'x.test', 'data');
