\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%]', queue_name, ev_type, ev_data, ev_extra1, ev_extra2;
    return 1;
end $$;

create table wh (nr int primary key, c1 text, c2 text);
create trigger tj after insert or update or delete on wh
    for each row execute procedure pgq.jsontriga('qj', 'when=c2=''foo''');
create trigger tl after insert or update or delete on wh
    for each row execute procedure pgq.logutriga('ql', 'when=c2=''foo''');
create trigger ts after insert or update or delete on wh
    for each row execute procedure pgq.sqltriga('qs', 'when=c2=''foo''');
insert into wh values (1, 'c1', 'bar');
insert into wh values (2, 'c1', 'foo');
-- the new row decides on update, the old one on delete
update wh set c2 = 'foo' where nr = 1;
update wh set c2 = 'bar' where nr = 2;
delete from wh where nr = 1;
delete from wh where nr = 2;
-- NULL is an error, not false
insert into wh values (3, 'c1', null);
select count(*) from wh;
drop trigger tj on wh;
drop trigger tl on wh;
drop trigger ts on wh;

-- the result must be boolean
create table wh2 (id int primary key, n int, b bool, t text);
create domain boolish as bool;
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=n');
insert into wh2 values (1, 1, true, 'x');
drop trigger tg on wh2;
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=t');
insert into wh2 values (1, 1, true, 'x');
drop trigger tg on wh2;
-- a domain over bool is not bool; its OID varies, so mask it
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=b::boolish');
do $$
begin
    insert into wh2 values (1, 1, true, 'x');
exception when others then
    raise warning 'caught: %', regexp_replace(sqlerrm, '[0-9]+$', '<oid>');
end $$;
drop trigger tg on wh2;
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=null');
insert into wh2 values (1, 1, true, 'x');
drop trigger tg on wh2;
-- plain column, constants, operators, functions, subqueries
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=b');
insert into wh2 values (1, 1, true, 'x'), (2, 2, false, 'y'), (3, 3, null, 'z');
delete from wh2;
drop trigger tg on wh2;
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=n % 2 = 0 and t like ''a%''');
insert into wh2 values (1, 1, true, 'ab'), (2, 2, false, 'ab'), (4, 4, false, 'ba');
delete from wh2;
drop trigger tg on wh2;
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=exists (select 1 from wh2 x where x.n > 10)');
insert into wh2 values (1, 1, true, 'a');
insert into wh2 values (11, 11, true, 'b');
insert into wh2 values (2, 2, true, 'c');
delete from wh2;
drop trigger tg on wh2;
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=false');
insert into wh2 values (1, 1, true, 'x');
delete from wh2;
drop trigger tg on wh2;
-- the expression must give exactly one row
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=true from generate_series(1, n)');
insert into wh2 values (1, 1, true, 'x');
insert into wh2 values (2, 2, true, 'x');
insert into wh2 values (0, 0, true, 'x');
delete from wh2;
drop trigger tg on wh2;
-- when= is evaluated last, after the other overrides
create trigger tg after insert on wh2 for each row execute procedure pgq.logutriga('q', 'when=b', 'ev_extra1=1/n');
insert into wh2 values (1, 1, false, 'x');
insert into wh2 values (2, 0, false, 'x');
delete from wh2;
drop trigger tg on wh2;
-- an ignored-only update sends nothing before when= is looked at
create trigger tg after update on wh2 for each row execute procedure pgq.logutriga('q', 'ignore=t', 'when=1/n > 0');
insert into wh2 values (1, 0, true, 'x');
update wh2 set t = 'y';
update wh2 set b = false;
