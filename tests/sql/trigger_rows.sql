\set VERBOSITY terse
set client_min_messages = warning;
set timezone = 'UTC';
set DateStyle = 'ISO, YMD';

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning '% | % | % | %', queue_name, ev_type, ev_data, ev_extra2;
    return 1;
end $$;

-- rows whose record text needs full parsing: commas, quotes, empty
-- strings, backslashes and parentheses in keys and values, through
-- every operation, a key change and the backup of the old row
create table rw (id text primary key, v text, n numeric, t timestamptz);
create trigger tl after insert or update or delete on rw for each row execute procedure pgq.logutriga('L', 'backup');
create trigger ts after insert or update or delete on rw for each row execute procedure pgq.sqltriga('S');
create trigger tj after insert or update or delete on rw for each row execute procedure pgq.jsontriga('J', 'backup');
insert into rw values ('a,b', 'x, y', 1.5, '2020-01-01'), ('"q"', '', null, null),
    ('', 'e', 0, 'infinity'), ('back\slash', '()', -1, '2000-01-01 12:00+05');
update rw set v = v || '!';
update rw set n = n;
update rw set id = id || ',' where id = 'a,b';
update rw set id = 'x' where id = '';
update rw set id = '"q"' where id = '"q"';
delete from rw where id in ('a,b', '');
update rw set t = t + interval '1 day', v = null;
delete from rw;

-- a two-column key with commas and blanks in it
create table rw2 (a int, b text, c text, primary key (b, a));
create trigger tl after insert or update or delete on rw2 for each row execute procedure pgq.logutriga('L');
create trigger ts after insert or update or delete on rw2 for each row execute procedure pgq.sqltriga('S');
create trigger tj after insert or update or delete on rw2 for each row execute procedure pgq.jsontriga('J');
insert into rw2 values (1, 'k,1', 'c'), (2, 'k 2', 'c,c');
update rw2 set c = 'd';
update rw2 set a = 3 where a = 1;
update rw2 set b = 'k 3' where a = 2;
update rw2 set c = null where a = 2;
delete from rw2;

-- a one-column table and a table whose every value is NULL
create table rw3 (v text primary key);
create trigger tl after insert or update or delete on rw3 for each row execute procedure pgq.logutriga('L');
create trigger ts after insert or update or delete on rw3 for each row execute procedure pgq.sqltriga('S');
create trigger tj after insert or update or delete on rw3 for each row execute procedure pgq.jsontriga('J');
insert into rw3 values (''), ('a,b'), ('"');
update rw3 set v = v where v = '';
delete from rw3;
create table rw4 (id serial primary key, a text, b int, c bool);
create trigger tl after insert or update or delete on rw4 for each row execute procedure pgq.logutriga('L');
create trigger ts after insert or update or delete on rw4 for each row execute procedure pgq.sqltriga('S');
create trigger tj after insert or update or delete on rw4 for each row execute procedure pgq.jsontriga('J');
insert into rw4 default values;
update rw4 set a = null;
update rw4 set a = '', b = 0, c = false;
update rw4 set a = null, b = null, c = null;
delete from rw4;

-- many statements in one transaction, and one statement with many rows
begin;
insert into rw4 (a) values ('one');
insert into rw4 (a) values ('two, three');
update rw4 set b = id;
commit;
insert into rw4 (a, b, c) select 'row ' || i, i, i % 2 = 0 from generate_series(1, 4) i;
delete from rw4;
