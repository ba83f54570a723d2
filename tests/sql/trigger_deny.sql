\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

create table dn_l (id int primary key, v text);
create table dn_s (id int primary key, v text);
create table dn_j (id int primary key, v text);
insert into dn_l values (1, 'a');
insert into dn_s values (1, 'a');
insert into dn_j values (1, 'a');
create trigger tg after insert or update or delete on dn_l
    for each row execute procedure pgq.logutriga('leaf queue', 'deny');
create trigger tg after insert or update or delete on dn_s
    for each row execute procedure pgq.sqltriga('leaf queue', 'deny');
create trigger tg before insert or update or delete on dn_j
    for each row execute procedure pgq.jsontriga('leaf queue', 'deny');
insert into dn_l values (2, 'b');
insert into dn_s values (2, 'b');
insert into dn_j values (2, 'b');
update dn_l set v = 'c';
update dn_s set v = 'c';
update dn_j set v = 'c';
delete from dn_l;
delete from dn_s;
delete from dn_j;
-- a statement that touches no row is fine
update dn_l set v = 'c' where false;
select * from dn_l;
-- local role lets the change through without an event
set session_replication_role = local;
update dn_l set v = 'local';
set session_replication_role = origin;
select * from dn_l;

-- checks that come before deny: arguments, missing key, SKIP in AFTER
create table dn_x (v text, w text);
insert into dn_x values ('a', 'b');
create trigger tg after insert or update or delete on dn_x
    for each row execute procedure pgq.logutriga('q', 'deny', 'bogus');
update dn_x set v = 'c';
drop trigger tg on dn_x;
create trigger tg after insert or update or delete on dn_x
    for each row execute procedure pgq.logutriga('q', 'deny');
insert into dn_x values ('c', 'd');
update dn_x set v = 'c';
delete from dn_x;
drop trigger tg on dn_x;
create trigger tg after insert or update or delete on dn_x
    for each row execute procedure pgq.logutriga('q', 'deny', 'SKIP', 'pkey=v');
update dn_x set v = 'c';
drop trigger tg on dn_x;
create trigger tg after insert or update or delete on dn_x
    for each row execute procedure pgq.sqltriga('q', 'deny', 'when=''unterminated');
insert into dn_x values ('c', 'd');
drop trigger tg on dn_x;
-- names in the message are the raw names
create schema "we'ird";
create table "we'ird"."T 1" (id int primary key);
create trigger tg after insert on "we'ird"."T 1"
    for each row execute procedure pgq.logutriga('q''s', 'deny');
insert into "we'ird"."T 1" values (1);
