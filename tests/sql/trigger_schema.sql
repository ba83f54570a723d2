\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%]', queue_name, ev_type, ev_data, ev_extra1, ev_extra2;
    return 1;
end $$;

-- schema changes show up in the next event of the same session
create table sc (id int primary key, a text, b int);
create trigger tj after insert or update or delete on sc
    for each row execute procedure pgq.jsontriga('qj', 'backup');
create trigger tl after insert or update or delete on sc
    for each row execute procedure pgq.logutriga('ql');
create trigger ts after insert or update or delete on sc
    for each row execute procedure pgq.sqltriga('qs');
insert into sc values (1, 'one', 1);
alter table sc add column c numeric default 1.5;
insert into sc values (2, 'two', 2);
update sc set a = 'uno' where id = 1;
alter table sc drop column b;
insert into sc values (3, 'three');
update sc set a = 'dos' where id = 2;
alter table sc rename column a to aa;
insert into sc values (4, 'four');
alter table sc alter column c type text;
insert into sc values (5, 'five', 'five');
update sc set c = 'changed' where id = 5;
-- a new primary key
alter table sc drop constraint sc_pkey;
insert into sc values (6, 'six');
update sc set aa = 'x' where id = 6;
alter table sc add primary key (aa);
update sc set c = 'y' where id = 6;
alter table sc drop constraint sc_pkey;
create unique index sc_idx on sc (id, aa);
alter table sc add constraint sc_pk2 primary key using index sc_idx;
update sc set c = 'z' where id = 6;
-- renaming the table or its schema
alter table sc rename to sc_renamed;
insert into sc_renamed values (7, 'seven');
create schema sc_schema;
alter table sc_renamed set schema sc_schema;
insert into sc_schema.sc_renamed values (8, 'eight');
alter table sc_schema.sc_renamed set schema public;
alter table sc_renamed rename to sc;

-- the same inside one transaction and inside one statement
begin;
insert into sc values (10, 'ten');
alter table sc add column d bool default true;
insert into sc values (11, 'eleven');
alter table sc rename column d to dd;
update sc set c = 'ten!' where id = 10;
savepoint s1;
alter table sc drop column dd;
insert into sc values (12, 'twelve');
rollback to savepoint s1;
insert into sc values (13, 'thirteen');
commit;
do $$
begin
    insert into sc values (20, 'twenty');
    alter table sc add column e int default 5;
    insert into sc values (21, 'twenty-one');
    alter table sc rename column e to ee;
    update sc set ee = 6 where id = 21;
    alter table sc alter column ee type bigint;
    delete from sc where id = 21;
end $$;
alter table sc add column f int; alter table sc rename column f to ff; insert into sc values (30, 'thirty');

-- trigger arguments replaced on the same trigger
create or replace trigger tl after insert or update or delete on sc
    for each row execute procedure pgq.logutriga('ql2', 'ignore=c');
insert into sc values (40, 'forty');
-- a trigger dropped and another created under the same name
drop trigger tl on sc;
create trigger tl after insert or update or delete on sc
    for each row execute procedure pgq.sqltriga('ql3');
insert into sc values (41, 'forty-one');
drop trigger tj on sc;
drop trigger ts on sc;
delete from sc where id = 41;

-- statistics counters switched off in the middle of a session
create table sc3 (id int primary key, a text);
create trigger tl after insert on sc3 for each row execute procedure pgq.logutriga('ql');
insert into sc3 values (1, 'x');
set track_counts = off;
alter table sc3 add column b int default 7;
insert into sc3 values (2, 'y');
alter table sc3 rename column a to aa;
insert into sc3 values (3, 'z');
set track_counts = on;
alter table sc3 drop column b;
insert into sc3 values (4, 'w');
