\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

-- identifiers quoted only where needed in SQL, raw in JSON and ev_extra1,
-- URL-encoded in logutriga data
create schema "Sch ""q"" .x";
create table "Sch ""q"" .x"."Tab'le" (
    "Id" int,
    "select" text,
    "two words" text,
    "dot.ted" text,
    "quo""te" text,
    "ünï" text,
    "a=b&c" text,
    "per%cent" text,
    lower_ok text,
    "UPPER" text,
    "1digit" text,
    "$dollar" text,
    "tab	in" text,
    primary key ("Id", "select")
);
create trigger "Trig ""1""" after insert or update or delete on "Sch ""q"" .x"."Tab'le"
    for each row execute procedure pgq.logutriga('q"l''');
create trigger "trig 2" after insert or update or delete on "Sch ""q"" .x"."Tab'le"
    for each row execute procedure pgq.sqltriga('qs');
create trigger "TRIG.3" after insert or update or delete on "Sch ""q"" .x"."Tab'le"
    for each row execute procedure pgq.jsontriga('qj');
insert into "Sch ""q"" .x"."Tab'le" values (1, 'sel', 'tw', 'do', 'qu', 'ün', 'ab', 'pc', 'lo', 'UP', 'di', 'do', 'ta');
update "Sch ""q"" .x"."Tab'le" set "two words" = 'changed', "quo""te" = null, "ünï" = 'x';
update "Sch ""q"" .x"."Tab'le" set "select" = 'sel';
delete from "Sch ""q"" .x"."Tab'le";

-- key lists naming odd columns
create table "Odd" ("a b" int, "C" int, c int, v text);
create trigger t1 after insert or update or delete on "Odd"
    for each row execute procedure pgq.sqltriga('qs', 'pkey=C,c');
create trigger t2 after insert or update or delete on "Odd"
    for each row execute procedure pgq.logutriga('ql', 'pkey=a b,c', 'ignore=C');
create trigger t3 after insert or update or delete on "Odd"
    for each row execute procedure pgq.jsontriga('qj', 'pkey="C",c');
insert into "Odd" values (1, 2, 3, 'v');
update "Odd" set v = 'w';
update "Odd" set "C" = 20;
delete from "Odd";

-- many triggers on one table keep separate state
create table multi (id int primary key, a text, b text);
create trigger m1 after insert or update on multi for each row execute procedure pgq.logutriga('q1');
create trigger m2 after insert or update on multi for each row execute procedure pgq.logutriga('q2', 'ignore=a');
create trigger m3 after insert or update on multi for each row execute procedure pgq.logutriga('q3', 'ignore=b');
create trigger "M1" after insert or update on multi for each row execute procedure pgq.logutriga('q4', 'pkey=a');
insert into multi values (1, 'a', 'b');
update multi set a = 'aa';
update multi set b = 'bb';
insert into multi values (2, 'a', 'b');

-- a 63-byte identifier
create table "0123456789012345678901234567890123456789012345678901234567890xy" (
    "a123456789012345678901234567890123456789012345678901234567890ab" int primary key);
create trigger tl after insert on "0123456789012345678901234567890123456789012345678901234567890xy"
    for each row execute procedure pgq.logutriga('ql', 'ev_extra2=a123456789012345678901234567890123456789012345678901234567890ab');
create trigger ts after insert on "0123456789012345678901234567890123456789012345678901234567890xy"
    for each row execute procedure pgq.sqltriga('qs');
insert into "0123456789012345678901234567890123456789012345678901234567890xy" values (1);
