\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    if queue_name = 'refuse' then
        raise exception 'queue % refuses %', queue_name, ev_data;
    end if;
    raise warning '% | % | % | %', queue_name, ev_type, ev_data, ev_extra2;
    return 1;
end $$;

-- an error inside a trigger, rolled back to a savepoint, changes nothing
-- for the next rows of the same transaction: every one is checked again
create table np (id int, v text);
create trigger tl after insert or update or delete on np for each row execute procedure pgq.logutriga('q');
create table dn (id int primary key, v text);
create trigger td after insert or update or delete on dn for each row execute procedure pgq.jsontriga('q', 'deny');
create table pk (id int primary key, v text);
create trigger ts after insert or update or delete on pk for each row execute procedure pgq.sqltriga('q');
create table rf (id int primary key, v text);
insert into rf values (1, 'a');
create trigger tr after insert or update or delete on rf for each row execute procedure pgq.logutriga('refuse');
insert into np values (1, 'a');
insert into pk values (1, 'a'), (2, 'b');

\set ON_ERROR_ROLLBACK on
begin;
update np set v = 'b';
update np set v = 'c';
delete from np;
insert into dn values (1, 'x');
insert into dn values (2, 'y');
update pk set id = 3 where id = 1;
update pk set id = 4 where id = 2;
update pk set v = 'c' where id = 1;
update rf set v = 'b';
update rf set v = 'c';
insert into np values (2, 'd');
insert into dn values (3, 'z');
update pk set id = 5 where id = 2;
update pk set v = 'd' where id = 2;
commit;
\set ON_ERROR_ROLLBACK off

-- the same with the errors caught in PL/pgSQL
do $$
declare
    i int;
begin
    for i in 1 .. 3 loop
        begin
            update np set v = 'e' || i;
        exception when others then
            raise warning 'caught: %', sqlerrm;
        end;
        begin
            update pk set id = id + 10 where id = 1;
        exception when others then
            raise warning 'caught: %', sqlerrm;
        end;
        begin
            insert into dn values (10 + i, 'w');
        exception when others then
            raise warning 'caught: %', sqlerrm;
        end;
        begin
            update rf set v = 'h' || i;
        exception when others then
            raise warning 'caught: %', sqlerrm;
        end;
        update pk set v = 'f' || i where id = 2;
        insert into np values (10 + i, 'g');
    end loop;
end $$;
select * from np order by id;
select * from pk order by id;
select * from dn order by id;
