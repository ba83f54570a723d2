\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

-- pkey= supplies a key for a table without one
create table pk1 (nr int, c1 text, c2 text);
create trigger tj after insert or update or delete on pk1
    for each row execute procedure pgq.jsontriga('qj', 'pkey=nr,c1');
create trigger tl after insert or update or delete on pk1
    for each row execute procedure pgq.logutriga('ql', 'pkey=nr,c1');
create trigger ts after insert or update or delete on pk1
    for each row execute procedure pgq.sqltriga('qs', 'pkey=nr,c1');
insert into pk1 values (1, 'k', 'v');
update pk1 set c2 = 'w';
update pk1 set c2 = c2;
update pk1 set c1 = 'K';
delete from pk1;

-- pkey= overrides the real key, in the order given
create table pk2 (a int primary key, b int, c int);
create trigger tj after insert or update or delete on pk2
    for each row execute procedure pgq.jsontriga('qj', 'pkey=c,b');
create trigger tl after insert or update or delete on pk2
    for each row execute procedure pgq.logutriga('ql', 'pkey=c,b');
create trigger ts after insert or update or delete on pk2
    for each row execute procedure pgq.sqltriga('qs', 'pkey=c,b');
insert into pk2 values (1, 2, 3);
update pk2 set a = 10;
update pk2 set b = 20;
delete from pk2;
drop trigger tj on pk2;
drop trigger tl on pk2;
drop trigger ts on pk2;

-- the list is used as written: spaces survive in ev_type and JSON
create trigger tj after insert or update or delete on pk2
    for each row execute procedure pgq.jsontriga('qj', 'pkey= b, c');
create trigger tl after insert or update or delete on pk2
    for each row execute procedure pgq.logutriga('ql', 'pkey= b, c');
create trigger ts after insert or update or delete on pk2
    for each row execute procedure pgq.sqltriga('qs', 'pkey= b, c');
insert into pk2 values (1, 2, 3);
update pk2 set a = 11;
delete from pk2;
drop trigger tj on pk2;
drop trigger tl on pk2;
drop trigger ts on pk2;

-- names that match no column
create trigger tj after insert or update or delete on pk2
    for each row execute procedure pgq.jsontriga('qj', 'pkey=nosuch');
create trigger tl after insert or update or delete on pk2
    for each row execute procedure pgq.logutriga('ql', 'pkey=nosuch');
create trigger ts after insert or update or delete on pk2
    for each row execute procedure pgq.sqltriga('qs', 'pkey=nosuch');
insert into pk2 values (1, 2, 3);
update pk2 set c = 4;
update pk2 set c = 4;
delete from pk2;
drop trigger tj on pk2;
drop trigger tl on pk2;
drop trigger ts on pk2;

-- an empty override means no key
create trigger tj after insert or update or delete on pk2
    for each row execute procedure pgq.jsontriga('qj', 'pkey=');
create trigger tl after insert or update or delete on pk2
    for each row execute procedure pgq.logutriga('ql', 'pkey=');
insert into pk2 values (1, 2, 3);
update pk2 set c = 5;
delete from pk2;
drop trigger tj on pk2;
drop trigger tl on pk2;

-- NULL key values cannot be expressed in sqltriga's WHERE
create table pk3 (a int, b int, v text);
create trigger ts after insert or update or delete on pk3
    for each row execute procedure pgq.sqltriga('qs', 'pkey=a,b');
insert into pk3 values (1, null, 'x');
update pk3 set v = 'y';
update pk3 set v = v;
delete from pk3;
drop trigger ts on pk3;
create trigger ts after insert or update or delete on pk3
    for each row execute procedure pgq.sqltriga('qs', 'pkey=b,a');
update pk3 set v = v;
create trigger tl after insert or update or delete on pk3
    for each row execute procedure pgq.logutriga('ql', 'pkey=b');
drop trigger ts on pk3;
update pk3 set v = 'z';
delete from pk3;

-- detected keys: index column order, INCLUDE columns count as key, and the
-- index keeps the column name it was built with
create table pk4 (a int, b int, c text, d text, primary key (b, a) include (c));
create trigger tj after insert or update or delete on pk4
    for each row execute procedure pgq.jsontriga('qj');
create trigger tl after insert or update or delete on pk4
    for each row execute procedure pgq.logutriga('ql');
create trigger ts after insert or update or delete on pk4
    for each row execute procedure pgq.sqltriga('qs');
insert into pk4 values (1, 2, 'c', 'd');
update pk4 set d = 'dd';
update pk4 set c = 'cc';
alter table pk4 rename column a to a_new;
insert into pk4 values (3, 4, 'c', 'd');
update pk4 set d = 'x' where b = 4;
delete from pk4 where b = 4;

-- a unique index is not a primary key
create table pk5 (a int not null unique, v text);
create trigger tl after insert or update on pk5
    for each row execute procedure pgq.logutriga('ql');
insert into pk5 values (1, 'x');
update pk5 set v = 'y';
