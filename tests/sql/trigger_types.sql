\set VERBOSITY terse
set client_min_messages = warning;
set DateStyle = 'ISO, YMD';
set IntervalStyle = 'postgres';
set timezone = 'UTC';
set bytea_output = 'hex';
set extra_float_digits = 0;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning '% | % | %', queue_name, ev_type, ev_data;
    return 1;
end $$;

-- One table per type: the value, an array of two of it, and the value
-- again after a text column, fed to all three triggers.
create function enc_test(typ text, val text) returns void language plpgsql as $$
begin
    execute 'drop table if exists enc';
    execute format('create table enc (k int primary key, v %s, a %s[], t text)', typ, typ);
    execute 'create trigger tj after insert on enc for each row execute procedure pgq.jsontriga(''J'')';
    execute 'create trigger tl after insert on enc for each row execute procedure pgq.logutriga(''L'')';
    execute 'create trigger ts after insert on enc for each row execute procedure pgq.sqltriga(''S'')';
    execute format('insert into enc values (1, %L::%s, array[%L::%s, %L::%s], %L)',
                   val, typ, val, typ, val, typ, 'tail');
end $$;

-- text and its troublesome characters
select enc_test('text', null);
select enc_test('text', '');
select enc_test('text', 'plain');
select enc_test('text', 'two  spaces and	tab');
select enc_test('text', $$it's "quoted" \back\slash$$);
select enc_test('text', 'a,b(c)d{e}f');
select enc_test('text', 'x=1&y=2+3%4#5?6/7:8;9@0');
select enc_test('text', '~!$^*`|<>[]');
select enc_test('text', E'line1\nline2\r\n');
select enc_test('text', E'ctl\x01\x02\x07\x08\x0b\x0c\x1b\x1f\x7f');
select enc_test('text', 'ünïcödé € 日本 😀');
select enc_test('text', 'NULL');
select enc_test('text', '\N');
select enc_test('text', '"');
select enc_test('text', '""');
select enc_test('text', '\');
select enc_test('text', '\\"\\');
select enc_test('text', ' leading and trailing ');
select enc_test('varchar(20)', 'short');
select enc_test('char(6)', 'ab');
select enc_test('name', 'a name');
select enc_test('"char"', 'z');
-- bytea in both output formats
select enc_test('bytea', '\x00ff01');
select enc_test('bytea', 'plain\\bytes');
set bytea_output = 'escape';
select enc_test('bytea', '\x00ff01275c41');
set bytea_output = 'hex';
-- booleans
select enc_test('bool', 'true');
select enc_test('bool', 'false');
-- integers and their extremes
select enc_test('int2', '-32768');
select enc_test('int2', '32767');
select enc_test('int4', '-2147483648');
select enc_test('int4', '2147483647');
select enc_test('int8', '-9223372036854775808');
select enc_test('int8', '9223372036854775807');
select enc_test('oid', '4294967295');
-- numeric and floating point
select enc_test('numeric', '0');
select enc_test('numeric', '-12345678901234567890.000001');
select enc_test('numeric', 'NaN');
select enc_test('numeric(10,3)', '1.5');
select enc_test('float4', '1.17549e-38');
select enc_test('float8', '3.141592653589793');
select enc_test('float8', 'NaN');
select enc_test('float8', 'Infinity');
select enc_test('float8', '-Infinity');
select enc_test('float8', '-0');
select enc_test('float8', '1e300');
set extra_float_digits = 3;
select enc_test('float8', '0.1');
select enc_test('float4', '0.1');
set extra_float_digits = 0;
select enc_test('money', '-1234.5');
-- date and time
select enc_test('timestamptz', '2009-09-19 11:59:48.599');
select enc_test('timestamptz', '2009-09-19 11:59:48');
select enc_test('timestamptz', 'infinity');
select enc_test('timestamptz', '-infinity');
select enc_test('timestamptz', '0044-03-15 12:00 BC');
select enc_test('timestamp', '2009-09-19 11:59:48.599');
select enc_test('timestamp', '294276-12-31 23:59:59.999999');
select enc_test('timestamp', 'infinity');
select enc_test('timestamp', '4713-01-01 00:00 BC');
select enc_test('date', '2009-09-19');
select enc_test('date', 'infinity');
select enc_test('date', '-infinity');
select enc_test('date', '0001-01-01 BC');
select enc_test('time', '11:59:48.599');
select enc_test('time(0)', '24:00:00');
select enc_test('timetz', '11:59:48.599+02:30');
select enc_test('interval', '2 minutes');
select enc_test('interval', '-1 year -2 mons +3 days -04:05:06.7');
-- the session settings shape the text output
set timezone = 'Asia/Kolkata';
select enc_test('timestamptz', '2009-09-19 11:59:48.599+00');
set timezone = 'America/St_Johns';
select enc_test('timestamptz', '1900-01-01 00:00');
set timezone = 'UTC';
set DateStyle = 'SQL, DMY';
select enc_test('timestamptz', '2009-09-19 11:59:48.599');
select enc_test('timestamp', '2009-09-19 11:59:48.599');
select enc_test('date', '2009-09-19');
set DateStyle = 'Postgres, MDY';
select enc_test('timestamptz', '2009-09-19 11:59:48.599');
select enc_test('date', '2009-09-19');
set DateStyle = 'German';
select enc_test('timestamp', '2009-09-19 11:59:48.599');
set DateStyle = 'ISO, YMD';
set IntervalStyle = 'iso_8601';
select enc_test('interval', '1 day 2 hours');
set IntervalStyle = 'sql_standard';
select enc_test('interval', '1 day 2 hours');
set IntervalStyle = 'postgres_verbose';
select enc_test('interval', '1 day 2 hours');
set IntervalStyle = 'postgres';
-- other scalar types
select enc_test('uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
select enc_test('inet', '192.168.0.1/24');
select enc_test('cidr', '10.0.0.0/8');
select enc_test('macaddr', '08:00:2b:01:02:03');
select enc_test('bit(4)', '1010');
select enc_test('varbit', '101');
select enc_test('point', '(1.5,2)');
select enc_test('box', '(1,1),(0,0)');
select enc_test('xid', '12345');
select enc_test('tid', '(3,4)');
select enc_test('pg_lsn', '16/B374D848');
select enc_test('int4range', '[1,10)');
select enc_test('tsvector', 'a fat cat');
select enc_test('regclass', 'pg_class');
-- json columns are strings of their text in jsontriga
select enc_test('json', '{"a": [1, 2], "b": "x\"y"}');
select enc_test('json', '  "only a string"  ');
select enc_test('json', 'null');
select enc_test('jsonb', '{"b": 1, "a": [true, null, 1.50]}');
select enc_test('jsonb', '"str"');
select enc_test('xml', '<a x="1">t &amp; u</a>');

-- user types: domains keep the base type's text but not its JSON typing
create domain d_int as int4;
create domain d_bool as bool;
create domain d_ts as timestamptz;
create domain d_text as text check (value <> 'bad');
create domain d_num as numeric(6,2);
select enc_test('d_int', '42');
select enc_test('d_bool', 'true');
select enc_test('d_ts', '2009-09-19 11:59:48.599');
select enc_test('d_text', 'domain text');
select enc_test('d_num', '3.5');
create type mood as enum ('sad', 'ok', 'happy mood');
select enc_test('mood', 'happy mood');
create type pair as (x int, y text);
select enc_test('pair', '(1,"a b")');
select enc_test('pair', '(,)');

-- multidimensional arrays and explicit bounds
drop table if exists arr;
create table arr (k int primary key, a int[], b text[], c text[]);
create trigger tj after insert on arr for each row execute procedure pgq.jsontriga('J');
create trigger tl after insert on arr for each row execute procedure pgq.logutriga('L');
create trigger ts after insert on arr for each row execute procedure pgq.sqltriga('S');
insert into arr values (1, '{{1,2},{3,4}}', '{"a b",NULL,"c,d","e\"f",""}', '[0:1]={x,y}');
insert into arr values (2, '{}', '{NULL}', '{"{}"}');
