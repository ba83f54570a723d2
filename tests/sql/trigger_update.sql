\set VERBOSITY terse
set client_min_messages = warning;
set extra_float_digits = 1;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning '% %', ev_type, ev_data;
    return 1;
end $$;

-- sqltriga sends the columns that changed by the type's own equality;
-- arrays, and types without equality, compare as text
create type pt as (x numeric, y text);
create table up (id int primary key,
    n numeric, f8 float8, f4 float4, iv interval, jb jsonb, js json,
    na numeric[], ts timestamptz, t text, bp char(5), vc varchar(10),
    p point, c pt, r numrange, b bytea, x xml);
insert into up values (1, 1.5, 0, 1.25, '1 day', '{"a": 1.0}', '{"a": 1.0}',
    '{1.5}', '2020-01-01 00:00+00', 'text', 'ab', 'vc',
    '(1,2)', '(1.5,x)', '[1.0,2.0)', '\x01', '<a/>');
create trigger ts after update on up for each row execute procedure pgq.sqltriga('qs');
-- equal by value: nothing listed, the no-op form is sent
update up set n = 1.50, f8 = -0, f4 = 1.250, iv = '24 hours', jb = '{"a": 1.00}';
-- equal text
update up set js = '{"a": 1.0}', t = 'text', bp = 'ab   ', vc = 'vc', p = '(1,2)', b = '\x01';
-- by text only: differently written values are changes
update up set js = '{"a":1.0}';
update up set na = '{1.50}';
update up set x = '<a></a>';
update up set p = '(1.0,2.0)';
-- composite and range types use their own equality
update up set c = '(1.50,x)';
update up set r = '[1.00,2)';
update up set c = '(2,x)';
-- real changes
update up set n = 2, f8 = 1e-300, f4 = 'NaN', iv = '1 day 1 sec';
update up set jb = '{"a": 2}', ts = '2020-01-01 00:00:00.000001+00';
update up set t = null;
update up set t = '';
update up set t = null, n = null;
-- time zone independent equality
set timezone = 'Europe/Helsinki';
update up set ts = '2020-01-01 02:00:00.000001+02';
set timezone = 'UTC';

-- the same decides whether a key column changed
create table upk (k numeric primary key, v text);
insert into upk values (1.0, 'a');
create trigger tl after update on upk for each row execute procedure pgq.logutriga('ql');
create trigger ts after update on upk for each row execute procedure pgq.sqltriga('qs');
create trigger tj after update on upk for each row execute procedure pgq.jsontriga('qj');
update upk set k = 1.00;
update upk set k = 1.00, v = 'b';
update upk set k = 2;
create table upk2 (k float8 primary key, v text);
insert into upk2 values (0, 'a');
create trigger tl after update on upk2 for each row execute procedure pgq.logutriga('ql');
create trigger tj after update on upk2 for each row execute procedure pgq.jsontriga('qj');
update upk2 set k = -0;
update upk2 set k = 1e-320;
create table upk3 (k int[] primary key, v text);
insert into upk3 values ('{1,2}', 'a');
create trigger tl after update on upk3 for each row execute procedure pgq.logutriga('ql');
update upk3 set v = 'b';
update upk3 set k = '[0:1]={1,2}';

-- shortened float output still sees a real difference
set extra_float_digits = 0;
create table upf (id int primary key, f float8);
insert into upf values (1, 0.3);
create trigger ts after update on upf for each row execute procedure pgq.sqltriga('qs');
update upf set f = 0.1::float8 + 0.2::float8;
update upf set f = 0.3;
create table upfk (f float8 primary key, v text);
insert into upfk values (0.3, 'a');
create trigger tl after update on upfk for each row execute procedure pgq.logutriga('ql');
update upfk set f = 0.1::float8 + 0.2::float8;
update upfk set v = 'b';
set extra_float_digits = 1;

-- case-insensitive collation: equal strings are not a change
create collation if not exists ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
create table upci (id int primary key, t text collate ci);
insert into upci values (1, 'Hello');
create trigger ts after update on upci for each row execute procedure pgq.sqltriga('qs');
update upci set t = 'HELLO';
update upci set t = 'Hello!';
