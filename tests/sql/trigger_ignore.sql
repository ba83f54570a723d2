\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%]',
        queue_name, ev_type, ev_data, ev_extra1, ev_extra2;
    return 1;
end $$;

create table ign (id text primary key, c1 text, c2 text, c3 int);
create trigger tj after insert or update or delete on ign
    for each row execute procedure pgq.jsontriga('qj', 'ignore=c2');
create trigger tl after insert or update or delete on ign
    for each row execute procedure pgq.logutriga('ql', 'ignore=c2');
create trigger ts after insert or update or delete on ign
    for each row execute procedure pgq.sqltriga('qs', 'ignore=c2');

insert into ign values ('a', 'one', 'two', 3);
-- a sent column changes
update ign set c1 = 'uno' where id = 'a';
-- sent and ignored columns change
update ign set c1 = 'eins', c2 = 'zwei' where id = 'a';
-- only the ignored column changes: no event at all
update ign set c2 = 'deux' where id = 'a';
update ign set c2 = null where id = 'a';
-- nothing changes: the update is still sent
update ign set c2 = c2 where id = 'a';
delete from ign;

-- list syntax: commas and white space separate, names are case sensitive,
-- unknown names are harmless
create table ign2 (id int primary key, "A" int, a int, bb int, b int, "x y" int);
create trigger tl after insert or update on ign2
    for each row execute procedure pgq.logutriga('ql', 'ignore= a ,bb	nosuch');
insert into ign2 values (1, 2, 3, 4, 5, 6);
update ign2 set a = 30;
update ign2 set bb = 40, a = 31;
update ign2 set b = 50;
drop trigger tl on ign2;
-- a later ignore= replaces an earlier one; names with spaces cannot be listed
create trigger tl after insert or update on ign2
    for each row execute procedure pgq.logutriga('ql', 'ignore=b', 'ignore=A,x y');
insert into ign2 values (2, 2, 3, 4, 5, 6);
update ign2 set "A" = 20, b = 60 where id = 2;
update ign2 set "A" = 21 where id = 2;
drop trigger tl on ign2;
-- an empty list ignores nothing but still switches on the full comparison
create trigger tl after insert or update on ign2
    for each row execute procedure pgq.sqltriga('qs', 'ignore=');
update ign2 set b = b where id = 2;
update ign2 set b = 7 where id = 2;
drop trigger tl on ign2;

-- ignoring everything
create table ign3 (id int primary key, v int);
create trigger tl after insert or update or delete on ign3
    for each row execute procedure pgq.logutriga('ql', 'ignore=id,v');
create trigger ts after insert or update or delete on ign3
    for each row execute procedure pgq.sqltriga('qs', 'ignore=id,v');
create trigger tj after insert or update or delete on ign3
    for each row execute procedure pgq.jsontriga('qj', 'ignore=id,v');
insert into ign3 values (1, 1);
update ign3 set v = 2;
update ign3 set v = 2;
delete from ign3;

-- with an ignore list the key check happens in column order: a changed
-- key column after a changed sent column goes unnoticed by logutriga and
-- jsontriga, never by sqltriga
create table ign4 (c text, id int primary key, z text);
insert into ign4 values ('a', 1, 'z');
create trigger tl after update on ign4
    for each row execute procedure pgq.logutriga('ql', 'ignore=z');
update ign4 set c = 'b', id = 2;
update ign4 set id = 3;
drop trigger tl on ign4;
create trigger tj after update on ign4
    for each row execute procedure pgq.jsontriga('qj', 'ignore=z');
update ign4 set c = 'c', id = 4;
drop trigger tj on ign4;
create trigger ts after update on ign4
    for each row execute procedure pgq.sqltriga('qs', 'ignore=z');
update ign4 set c = 'd', id = 5;
drop trigger ts on ign4;
-- without a list only the key is compared
create trigger tl after update on ign4
    for each row execute procedure pgq.logutriga('ql');
update ign4 set c = 'e', id = 6;
select * from ign4;

-- an ignored key column is still the key
create table ign5 (id int primary key, v text);
insert into ign5 values (1, 'a');
create trigger tl after insert or update or delete on ign5
    for each row execute procedure pgq.logutriga('ql', 'ignore=id');
create trigger ts after insert or update or delete on ign5
    for each row execute procedure pgq.sqltriga('qs', 'ignore=id');
update ign5 set v = 'b';
update ign5 set v = v;
update ign5 set id = 2;
delete from ign5;
