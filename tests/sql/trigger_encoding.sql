\set VERBOSITY terse
set client_min_messages = warning;
set bytea_output = 'hex';

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    -- control characters would make the expected output unreadable
    raise warning '%: %', queue_name,
        regexp_replace(replace(ev_data, E'\\', '<bs>'), '[\x01-\x1f\x7f]', '<ctl>', 'g');
    return 1;
end $$;

create table en (id int primary key, v text, b bytea);
create trigger tl after insert or update on en for each row execute procedure pgq.logutriga('L');
create trigger ts after insert or update on en for each row execute procedure pgq.sqltriga('S');
create trigger tj after insert or update on en for each row execute procedure pgq.jsontriga('J');

-- every ASCII character, one row each, then all of them in one value
insert into en select i, chr(i), null from generate_series(1, 127) i;
insert into en select 1000, string_agg(chr(i), '' order by i), null from generate_series(1, 127) i;
-- characters beyond ASCII: two, three and four bytes in UTF-8
insert into en values (2001, chr(128) || chr(255) || chr(256) || chr(2047), null);
insert into en values (2002, chr(2048) || chr(65535), null);
insert into en values (2003, chr(65536) || chr(1114111), null);
-- every byte value as bytea
insert into en select 3000, null, string_agg(set_byte('\x00'::bytea, 0, i), '' order by i) from generate_series(0, 255) i;
set bytea_output = 'escape';
update en set v = 'esc' where id = 3000;
set bytea_output = 'hex';

-- the same through an UPDATE of one column and a backslash in a key
create table en2 (k text primary key, v text);
insert into en2 values (E'key\\with', 'v');
create trigger ts after update or delete on en2 for each row execute procedure pgq.sqltriga('S');
create trigger tl after update or delete on en2 for each row execute procedure pgq.logutriga('L');
update en2 set v = E'it''s a \\ back';
update en2 set v = v;
delete from en2;

-- lots of values that need quoting in the record text
create table en3 (a text, b text, c text, d text, e text, f text, g int);
create trigger tl after insert on en3 for each row execute procedure pgq.logutriga('L');
create trigger tj after insert on en3 for each row execute procedure pgq.jsontriga('J');
insert into en3 values ('', '""', '","', E'\\"', '(', ')', null);
insert into en3 values ('a,b', null, '', ' ', E'\t', 'x"y"z', 1);
insert into en3 values (null, null, null, null, null, null, null);
insert into en3 values ('"a",', '"', ',', '""""', E'\\\\', 'a""b', 2);
-- long values
insert into en3 values (repeat('x', 10000), repeat('é, "', 500), repeat(' ', 300), null, null, null, 3);

-- separator-like control characters next to commas, quotes and NULLs,
-- with the old row as backup (now shown too)
create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning '%: % / %', queue_name,
        regexp_replace(replace(ev_data, E'\\', '<bs>'), '[\x01-\x1f\x7f]', '<ctl>', 'g'),
        regexp_replace(replace(ev_extra2, E'\\', '<bs>'), '[\x01-\x1f\x7f]', '<ctl>', 'g');
    return 1;
end $$;
create table en4 (id int primary key, a text, b text, c text);
create trigger tl after insert or update on en4 for each row execute procedure pgq.logutriga('L', 'backup');
create trigger tj after insert or update on en4 for each row execute procedure pgq.jsontriga('J', 'backup');
create trigger ts after insert or update on en4 for each row execute procedure pgq.sqltriga('S', 'backup');
insert into en4 values (1, E'\x01', E'\x02', null);
insert into en4 values (2, E'a,\x01,b', E'"\x02"', '');
insert into en4 values (3, E'\x01\x02', null, E'x\x01');
update en4 set c = 'changed, again' where id = 1;
update en4 set a = 'plain' where id = 2;
update en4 set b = E'\x02' where id = 3;
update en4 set b = 'no more' where id = 3;
