\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

-- schema changes committed by another session reach a session that has
-- already used the trigger (the second session talks through dblink)
create extension if not exists dblink;
select dblink_connect('other', 'dbname=' || current_database()
    || ' host=' || split_part(current_setting('unix_socket_directories'), ',', 1)
    || ' port=' || current_setting('port'));
create table so (id int primary key, a text);
create trigger tl after insert or update or delete on so
    for each row execute procedure pgq.logutriga('ql');
create trigger ts after insert or update or delete on so
    for each row execute procedure pgq.sqltriga('qs');
create trigger tj after insert or update or delete on so
    for each row execute procedure pgq.jsontriga('qj');
insert into so values (1, 'one');
select dblink_exec('other', 'alter table so add column b int default 7');
insert into so values (2, 'two');
select dblink_exec('other', 'alter table so rename column a to a2');
update so set b = 8 where id = 1;
select dblink_exec('other', 'alter table so alter column b type text');
insert into so values (3, 'three');
select dblink_exec('other', 'alter table so drop constraint so_pkey');
insert into so values (4, 'four');
update so set b = 'x';
select dblink_exec('other', 'alter table so add primary key (a2)');
update so set b = 'y' where id = 4;
select dblink_exec('other', 'drop trigger tl on so');
select dblink_exec('other', 'create trigger tl after insert or update or delete on so for each row execute procedure pgq.logutriga(''ql'', ''ignore=b'')');
update so set b = 'z' where id = 4;
update so set id = 44 where id = 4;
-- inside a transaction the table is locked: the other session waits, so
-- the shape cannot change under an open transaction
begin;
insert into so values (5, 'five');
select dblink_send_query('other', 'alter table so add column c int default 3');
insert into so values (6, 'six');
commit;
select dblink_get_result('other');
insert into so values (7, 'seven');
select dblink_disconnect('other');
