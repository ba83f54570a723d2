\set VERBOSITY terse
set client_min_messages = warning;
set DateStyle = 'ISO, YMD';
set timezone = 'UTC';

-- Every event becomes a WARNING, so the output pins the exact encoding.
create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%] x3=[%] x4=[%]',
        queue_name, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4;
    return 1;
end $$;

-- all three triggers on one table, insert / update / delete
create table base_t (id serial primary key, name text, score float8, born date);
create trigger tg_j after insert or update or delete on base_t
    for each row execute procedure pgq.jsontriga('qj');
create trigger tg_l after insert or update or delete on base_t
    for each row execute procedure pgq.logutriga('ql');
create trigger tg_s after insert or update or delete on base_t
    for each row execute procedure pgq.sqltriga('qs');

insert into base_t (name) values ('first');
insert into base_t (score, born) values (2.25, '2001-02-03');
insert into base_t (name, score) values ('three words here', -1);
update base_t set name = 'renamed' where id = 1;
update base_t set name = null, score = 7 where id = 3;
-- nothing changes: still replicated
update base_t set name = name where id = 1;
-- several rows in one statement
update base_t set score = coalesce(score, 0) + 1;
delete from base_t where id = 2;
delete from base_t;

-- tables without a primary key: inserts work, updates and deletes refuse
create table nopk_l (v text);
create table nopk_s (v text);
create table nopk_j (v text);
create trigger tg after insert or update or delete on nopk_l
    for each row execute procedure pgq.logutriga('ql');
create trigger tg after insert or update or delete on nopk_s
    for each row execute procedure pgq.sqltriga('qs');
create trigger tg after insert or update or delete on nopk_j
    for each row execute procedure pgq.jsontriga('qj');
insert into nopk_l values ('a');
insert into nopk_s values ('a');
insert into nopk_j values ('a');
update nopk_l set v = 'b';
update nopk_s set v = 'b';
update nopk_j set v = 'b';
delete from nopk_l;
delete from nopk_s;
delete from nopk_j;
select count(*) from nopk_l;

-- primary key values must not change
create table pkchg (a int, b int, c text, primary key (a, b));
insert into pkchg values (1, 1, 'x'), (2, 2, 'y');
create trigger tg_l after insert or update or delete on pkchg
    for each row execute procedure pgq.logutriga('ql');
update pkchg set b = 5 where a = 1;
drop trigger tg_l on pkchg;
create trigger tg_s after insert or update or delete on pkchg
    for each row execute procedure pgq.sqltriga('qs');
update pkchg set c = 'z', a = 9 where a = 1;
drop trigger tg_s on pkchg;
create trigger tg_j after insert or update or delete on pkchg
    for each row execute procedure pgq.jsontriga('qj');
update pkchg set a = 2, b = 2, c = 'q' where a = 2;
update pkchg set a = a + 0, c = 'same key' where a = 2;
select * from pkchg order by a;

-- a key column set to NULL counts as a change
create table pknull (k int, v text);
insert into pknull values (1, 'x');
create trigger tg after update on pknull
    for each row execute procedure pgq.logutriga('ql', 'pkey=k');
update pknull set k = null;

-- BEFORE triggers hand the row on: the data is stored
create table before_t (id int primary key, v text);
create trigger tg_l before insert or update or delete on before_t
    for each row execute procedure pgq.logutriga('ql');
create trigger tg_s before insert or update or delete on before_t
    for each row execute procedure pgq.sqltriga('qs');
create trigger tg_j before insert or update or delete on before_t
    for each row execute procedure pgq.jsontriga('qj');
insert into before_t values (1, 'one'), (2, 'two');
update before_t set v = 'uno' where id = 1;
delete from before_t where id = 2;
select * from before_t order by id;

-- schema and table names are reported unquoted
create schema "Other Schema";
create table "Other Schema"."Mixed.Table" (id int primary key);
create trigger tg_l after insert on "Other Schema"."Mixed.Table"
    for each row execute procedure pgq.logutriga('ql');
create trigger tg_s after insert on "Other Schema"."Mixed.Table"
    for each row execute procedure pgq.sqltriga('qs');
create trigger tg_j after insert on "Other Schema"."Mixed.Table"
    for each row execute procedure pgq.jsontriga('qj');
insert into "Other Schema"."Mixed.Table" values (1);

-- a table with no columns at all
create table nocols ();
create trigger tg_l after insert on nocols for each row execute procedure pgq.logutriga('ql');
create trigger tg_s after insert on nocols for each row execute procedure pgq.sqltriga('qs');
create trigger tg_j after insert on nocols for each row execute procedure pgq.jsontriga('qj');
insert into nocols default values;

-- a single nullable column
create table onecol (v text);
create trigger tg_l after insert on onecol for each row execute procedure pgq.logutriga('ql');
create trigger tg_s after insert on onecol for each row execute procedure pgq.sqltriga('qs');
create trigger tg_j after insert on onecol for each row execute procedure pgq.jsontriga('qj');
insert into onecol values (null), (''), ('x'), ('"'), ('()'), (',');
