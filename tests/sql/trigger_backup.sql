\set VERBOSITY terse
set client_min_messages = warning;
set DateStyle = 'ISO, YMD';
set timezone = 'UTC';

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%] x3=[%]',
        queue_name, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3;
    return 1;
end $$;

-- backup puts the old row in ev_extra2 on UPDATE only
create table bk (nr int4 primary key, col1 text, stamp date, ts timestamptz, f float8, b bool);
create trigger tj after insert or update or delete on bk
    for each row execute procedure pgq.jsontriga('qj', 'backup');
create trigger tl after insert or update or delete on bk
    for each row execute procedure pgq.logutriga('ql', 'backup');
create trigger ts after insert or update or delete on bk
    for each row execute procedure pgq.sqltriga('qs', 'backup');
insert into bk values (1, 'text', '1999-02-03', '2001-01-01 12:00:00.25+03', 1.5, true);
update bk set col1 = 'col1x' where nr = 1;
update bk set col1 = null, b = null where nr = 1;
update bk set stamp = stamp where nr = 1;
update bk set col1 = 'a b, "c" \d' where nr = 1;
delete from bk where nr = 1;
drop trigger tj on bk;
drop trigger tl on bk;
drop trigger ts on bk;

-- ignored columns stay out of the backup; an ignored-only change sends nothing
create trigger tj after insert or update on bk
    for each row execute procedure pgq.jsontriga('qj', 'backup', 'ignore=f,ts');
create trigger tl after insert or update on bk
    for each row execute procedure pgq.logutriga('ql', 'ignore=f,ts', 'backup');
create trigger ts after insert or update on bk
    for each row execute procedure pgq.sqltriga('qs', 'ignore=f,ts', 'backup');
insert into bk values (2, 'two', '2000-01-01', '2002-02-02 02:02:02+00', 2.5, false);
update bk set f = 3.5;
update bk set f = 4.5, col1 = 'deux';
drop trigger tj on bk;
drop trigger tl on bk;
drop trigger ts on bk;

-- backup with other overrides: an ev_extra2 expression wins
create trigger tl after update on bk
    for each row execute procedure pgq.logutriga('ql', 'backup', 'ev_extra2=''mine''', 'ev_extra3=col1');
update bk set col1 = 'drei';
drop trigger tl on bk;
-- magic columns are not part of the backup, but can replace it
create table bk2 (id int primary key, v text, _pgq_ev_extra2 text);
insert into bk2 values (1, 'a', null);
create trigger tl after update on bk2
    for each row execute procedure pgq.logutriga('ql', 'backup');
create trigger tj after update on bk2
    for each row execute procedure pgq.jsontriga('qj', 'backup');
update bk2 set v = 'b';
update bk2 set v = 'c', _pgq_ev_extra2 = 'magic';
