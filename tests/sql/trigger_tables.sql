\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

-- partitioned table: the trigger fires as the partition
create table pt (id int, region text, v text, primary key (id, region)) partition by list (region);
create table pt_eu partition of pt for values in ('eu');
create table pt_us (v text, region text, id int, primary key (id, region));
alter table pt attach partition pt_us for values in ('us');
create trigger tl after insert or update or delete on pt for each row execute procedure pgq.logutriga('ql');
create trigger ts after insert or update or delete on pt for each row execute procedure pgq.sqltriga('qs');
create trigger tj after insert or update or delete on pt for each row execute procedure pgq.jsontriga('qj');
insert into pt values (1, 'eu', 'a'), (2, 'us', 'b');
update pt set v = v || '!';
-- moving a row between partitions is a delete plus an insert
update pt set region = 'us' where id = 1;
delete from pt;
create trigger tt after truncate on pt for each statement execute procedure pgq.logutriga('ql');
truncate pt;

-- inheritance: a parent's trigger is not inherited
create table par (id int primary key, v text);
create table chi (extra int) inherits (par);
create trigger tl after insert or update on par for each row execute procedure pgq.logutriga('ql');
insert into par values (1, 'p');
insert into chi values (2, 'c', 3);
update par set v = 'upd';

-- generated columns: AFTER sees them, BEFORE sees NULL
create table gen (id int primary key, a int, g int generated always as (a * 2) stored);
create trigger tb before insert or update on gen for each row execute procedure pgq.logutriga('before');
create trigger ta after insert or update on gen for each row execute procedure pgq.jsontriga('after');
insert into gen (id, a) values (1, 5);
update gen set a = 6;

-- identity and default columns
create table ident (id int generated always as identity primary key, t timestamptz default '2000-01-01 00:00+00', v text);
create trigger tl after insert on ident for each row execute procedure pgq.sqltriga('qs');
set timezone = 'UTC';
insert into ident (v) values ('a'), ('b');

-- INSTEAD OF triggers on a view act like BEFORE triggers
create table vbase (id int primary key, v text);
create view vv as select * from vbase;
create trigger ti instead of insert or update or delete on vv for each row execute procedure pgq.logutriga('qv', 'pkey=id');
insert into vv values (1, 'a');
update vv set v = 'b';
select * from vbase;

-- COPY fires the triggers row by row
create table cp (id int primary key, v text, n numeric);
create trigger tl after insert on cp for each row execute procedure pgq.logutriga('ql');
copy cp from stdin;
1	one	1.5
2	\N	\N
3	with space	-0.0
\.

-- many rows in one statement, mixed with the cache being reset
create table many (id int primary key, v text);
create trigger tl after insert or update on many for each row execute procedure pgq.logutriga('ql');
insert into many select i, 'v' || i from generate_series(1, 3) i;
discard all;
set client_min_messages = warning;
insert into many select i, 'w' || i from generate_series(4, 5) i;
reset all;
set client_min_messages = warning;
update many set v = v || '.' where id in (1, 5);
