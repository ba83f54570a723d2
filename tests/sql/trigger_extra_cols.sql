\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%] x3=[%] x4=[%]',
        queue_name, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4;
    return 1;
end $$;

-- deprecated: columns named _pgq_ev_* are not sent but override the field
create table mc (nr int primary key, c1 text, c2 text,
    _pgq_ev_type text, _pgq_ev_extra1 text, _pgq_ev_extra2 text default 'e2',
    _pgq_ev_extra3 text default 'e3', _pgq_ev_extra4 int default 4);
create trigger tj after insert or update or delete on mc
    for each row execute procedure pgq.jsontriga('qj');
create trigger tl after insert or update or delete on mc
    for each row execute procedure pgq.logutriga('ql');
create trigger ts after insert or update or delete on mc
    for each row execute procedure pgq.sqltriga('qs');
insert into mc (nr, c1, c2, _pgq_ev_type, _pgq_ev_extra1) values (1, 'c1', 'c2', 'xt', 'E1');
-- the new row's values count for updates
update mc set c1 = 'c1x', _pgq_ev_extra1 = 'X1' where nr = 1;
-- NULL in a magic column makes the field NULL
update mc set c2 = 'c2x', _pgq_ev_type = null where nr = 1;
-- a change in a magic column only: logutriga and jsontriga still send,
-- sqltriga has nothing to set
update mc set _pgq_ev_extra3 = 'E3' where nr = 1;
delete from mc where nr = 1;
drop trigger tj on mc;
drop trigger tl on mc;
drop trigger ts on mc;

-- magic columns and an ignore list: a magic-only change counts as ignored
create trigger tl after insert or update or delete on mc
    for each row execute procedure pgq.logutriga('ql', 'ignore=c2');
insert into mc (nr, c1, c2) values (2, 'a', 'b');
update mc set _pgq_ev_extra3 = 'E3';
update mc set c1 = 'aa';
drop trigger tl on mc;
-- expressions beat magic columns
create trigger tl after insert on mc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=''from expr''', 'ev_type=null');
insert into mc (nr, c1, c2, _pgq_ev_type, _pgq_ev_extra1) values (3, 'a', 'b', 'T', 'E');
drop trigger tl on mc;
-- the key list never includes a magic column
create trigger tl after insert or update on mc
    for each row execute procedure pgq.logutriga('ql', 'pkey=nr,_pgq_ev_extra1');
insert into mc (nr, c1, c2, _pgq_ev_extra1) values (4, 'a', 'b', 'k');
update mc set _pgq_ev_extra1 = 'changed' where nr = 4;
drop trigger tl on mc;
-- ev_data can be overridden too
create table mc2 (id int primary key, _pgq_ev_data text);
create trigger tl after insert on mc2 for each row execute procedure pgq.logutriga('ql');
create trigger ts after insert on mc2 for each row execute procedure pgq.sqltriga('qs');
create trigger tj after insert on mc2 for each row execute procedure pgq.jsontriga('qj');
insert into mc2 values (1, 'custom data'), (2, null);

-- any other _pgq_ev_ name is an error once an event is written
create table mc3 (id int primary key, v text, _pgq_ev_bogus text);
create trigger tl after insert or update on mc3 for each row execute procedure pgq.logutriga('ql', 'ignore=v');
insert into mc3 values (1, 'a', 'b');
set session_replication_role = local;
insert into mc3 values (1, 'a', 'b');
set session_replication_role = origin;
update mc3 set v = 'c';
update mc3 set _pgq_ev_bogus = 'c';
update mc3 set id = 2;
-- not on truncate
create table mc4 (id int primary key, _pgq_ev_type text, _pgq_ev_oops int);
create trigger tt after truncate on mc4 for each statement execute procedure pgq.logutriga('ql');
create trigger tj after truncate on mc4 for each statement execute procedure pgq.jsontriga('qj');
truncate mc4;
-- the prefix must match exactly
create table mc5 (id int primary key, "_PGQ_EV_TYPE" text, _pgq_ev text, _pgq_evx text);
create trigger tl after insert on mc5 for each row execute procedure pgq.logutriga('ql');
insert into mc5 values (1, 'a', 'b', 'c');
