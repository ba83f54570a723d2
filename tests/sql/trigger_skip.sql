\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

-- SKIP in a BEFORE trigger: the event is written, the row operation is not
create table sk (id int primary key, v text);
insert into sk values (100, 'kept');
create trigger tl before insert or update or delete on sk
    for each row execute procedure pgq.logutriga('ql', 'SKIP');
insert into sk values (1, 'a');
update sk set v = 'changed';
delete from sk;
select * from sk;
drop trigger tl on sk;
create trigger ts before insert or update or delete on sk
    for each row execute procedure pgq.sqltriga('qs', 'SKIP');
insert into sk values (1, 'a');
update sk set v = 'changed';
delete from sk;
select * from sk;
drop trigger ts on sk;
create trigger tj before insert or update or delete on sk
    for each row execute procedure pgq.jsontriga('qj', 'SKIP');
insert into sk values (1, 'a') returning *;
update sk set v = 'changed' returning *;
delete from sk returning *;
select * from sk;
drop trigger tj on sk;

-- SKIP suppresses the row even when no event is written
create trigger tl before insert or update on sk
    for each row execute procedure pgq.logutriga('ql', 'SKIP', 'when=v <> ''quiet''', 'ignore=v');
insert into sk values (2, 'quiet');
update sk set v = 'ignored change';
update sk set v = 'quiet' where id = 100;
select * from sk;
drop trigger tl on sk;

-- SKIP in an AFTER trigger is an error
create trigger tl after insert or update or delete on sk
    for each row execute procedure pgq.logutriga('ql', 'SKIP');
insert into sk values (3, 'c');
update sk set v = 'x';
drop trigger tl on sk;
create trigger ts after insert on sk
    for each row execute procedure pgq.sqltriga('qs', 'SKIP');
insert into sk values (3, 'c');
drop trigger ts on sk;
create trigger tj after insert on sk
    for each row execute procedure pgq.jsontriga('qj', 'SKIP');
insert into sk values (3, 'c');
drop trigger tj on sk;
-- the key check comes first
create table sk2 (v text);
insert into sk2 values ('a');
create trigger tl after update on sk2
    for each row execute procedure pgq.logutriga('ql', 'SKIP');
update sk2 set v = 'b';
drop trigger tl on sk2;

-- two BEFORE triggers: the first SKIP ends the chain
create table sk3 (id int primary key, v text);
create trigger a1 before insert on sk3 for each row execute procedure pgq.logutriga('first', 'SKIP');
create trigger a2 before insert on sk3 for each row execute procedure pgq.logutriga('second');
insert into sk3 values (1, 'x');
drop trigger a1 on sk3;
create trigger a1 before insert on sk3 for each row execute procedure pgq.logutriga('first');
insert into sk3 values (2, 'y');
select * from sk3;

-- a BEFORE trigger sees the row as it is at that point of the chain
create function upcase() returns trigger language plpgsql as $$
begin
    new.v := upper(new.v);
    return new;
end $$;
create table sk4 (id int primary key, v text);
create trigger b1 before insert or update on sk4 for each row execute procedure pgq.logutriga('before_upcase');
create trigger b2 before insert or update on sk4 for each row execute procedure upcase();
create trigger b3 after insert or update on sk4 for each row execute procedure pgq.logutriga('after');
insert into sk4 values (1, 'lower');
update sk4 set v = 'again';
select * from sk4;

-- queue tables: SKIP on a view-like table used only as an event feed
create table feed (ev_type text, ev_data text);
create trigger tl before insert on feed
    for each row execute procedure pgq.sqltriga('feedq', 'SKIP', 'ev_type=ev_type', 'ev_data=ev_data');
insert into feed values ('mytype', 'payload'), ('other', null);
select count(*) from feed;
