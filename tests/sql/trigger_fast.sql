\set VERBOSITY terse
set client_min_messages = warning;
set timezone = 'UTC';
set DateStyle = 'ISO, YMD';
\set ON_ERROR_ROLLBACK on

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning '% | % | % | % | %', queue_name, ev_type, ev_data, ev_extra1, ev_extra2;
    return 1;
end $$;

-- the common rows, many in one transaction and one trigger per table: the
-- shapes the triggers take the short way for, and their neighbours
create table fa (aid int primary key, bid int, abalance int, filler char(20));
create trigger t after insert or update or delete on fa for each row execute procedure pgq.logutriga('qa');
create table fh (tid int, bid int, aid int, delta int, mtime timestamp, ts timestamptz, filler char(5),
                 hid bigint primary key);
create trigger t after insert or update or delete on fh for each row execute procedure pgq.logutriga('qh');
create table fm (a int, k text, b text, primary key (k));
create trigger t before insert or update or delete on fm for each row execute procedure pgq.logutriga('qm');
create table fc (k1 int, k2 varchar(10), v text, primary key (k1, k2));
create trigger t after insert or update or delete on fc for each row execute procedure pgq.logutriga('qc');
create table f1 (id int primary key);
create trigger t after insert or update or delete on f1 for each row execute procedure pgq.logutriga('q1');
create table fn (v text);
create trigger t after insert or update or delete on fn for each row execute procedure pgq.logutriga('qn');
create table fs (id int primary key, v text);
create trigger t before insert or update or delete on fs for each row execute procedure pgq.logutriga('qs', 'SKIP');
create table fp (a int, b text, c text);
create trigger t after insert or update or delete on fp for each row execute procedure pgq.logutriga('qp', 'pkey=b', 'ignore=c');
create table ja (id int primary key, b bool, d date, t timestamp, tz timestamptz, s text, n int8);
create trigger t after insert or update or delete on ja for each row execute procedure pgq.jsontriga('ja');
create table jm (a text, id int, primary key (id));
create trigger t before insert or update or delete on jm for each row execute procedure pgq.jsontriga('jm');
create table jn (id int primary key, n numeric);
create trigger t after insert or update or delete on jn for each row execute procedure pgq.jsontriga('jn');
create table sa (id int primary key, v text, c char(4), t timestamp);
create trigger t after insert or update or delete on sa for each row execute procedure pgq.sqltriga('sa');
create table sc (k1 text, v text, k2 int, primary key (k1, k2));
create trigger t before insert or update or delete on sc for each row execute procedure pgq.sqltriga('sc');
create table s1 (v text);
create trigger t after insert or update or delete on s1 for each row execute procedure pgq.sqltriga('s1');
-- names the cache entries use as separators
create table su (id int primary key, "a
b" text, "c d" text);
select format('alter table su rename column %I to %I', 'c d', E'c\x1fd') \gexec
create trigger t after insert or update or delete on su for each row execute procedure pgq.sqltriga('su');
create table lu (id int primary key, "c d" text);
select format('alter table lu rename column %I to %I', 'c d', E'c\x1ed\x1f') \gexec
create trigger t after insert or update or delete on lu for each row execute procedure pgq.logutriga('lu');

begin;
insert into fa select i, 1, 0, '' from generate_series(1, 3) i;
insert into fa values (4, null, -5, 'a b:c+d'), (5, 6, 7, null);
update fa set abalance = abalance + 1 where aid <= 2;
update fa set filler = 'x,y' where aid = 3;
update fa set filler = 'q"r' where aid = 4;
update fa set filler = '' where aid = 5;
update fa set filler = 'x@y/%' where aid = 5;
update fa set aid = 9 where aid = 1;
update fa set aid = aid, bid = bid;
delete from fa where aid in (2, 3);
insert into fh values (1, 2, 3, -4, '2024-01-02 03:04:05.678', '2024-01-02 03:04:05+02:30', null, 1),
                      (1, 2, 3, 4, 'infinity', '-infinity', 'a', 2);
update fh set delta = delta * 2;
update fh set hid = 3 where hid = 2;
delete from fh where hid = 1;
insert into fm values (1, 'k1', 'x'), (2, 'k 2', 'y'), (3, 'k,3', 'z');
update fm set a = a + 10, b = b || '!';
update fm set k = 'k9' where k = 'k1';
update fm set k = k || '' where a = 13;
delete from fm where a = 12;
insert into fc values (1, 'a', 'v'), (2, 'b c', null);
update fc set v = 'w';
update fc set k2 = 'x' where k1 = 1;
update fc set k1 = 3 where k1 = 2;
delete from fc;
insert into f1 values (1), (2);
update f1 set id = id;
update f1 set id = 3 where id = 1;
delete from f1;
insert into fn values ('a'), (null), ('');
update fn set v = 'b';
delete from fn;
insert into fs values (1, 'a'), (2, 'b c');
update fs set v = 'd';
delete from fs;
insert into fp values (1, 'k', 'c'), (2, null, 'd');
update fp set c = 'e';
update fp set a = 5;
update fp set b = 'kk' where a = 5;
delete from fp;
insert into ja values (1, true, '2024-02-03', '2024-02-03 04:05:06.5', '2024-02-03 04:05:06+01', 'x, "y"\z', 9007199254740993),
                      (2, null, null, null, null, null, null);
update ja set s = 'é' where id = 1;
update ja set id = 3 where id = 2;
delete from ja;
insert into jm values ('a,b', 1), ('c', 2);
update jm set a = a || '!';
update jm set id = 3 where id = 2;
delete from jm;
insert into jn values (1, 1.50), (2, 'NaN');
update jn set n = n * 2;
delete from jn;
insert into sa values (1, 'it''s', 'ab', '2024-01-02 03:04:05'), (2, null, null, null), (3, 'a(b)', 'c,d', 'infinity'),
                      (4, 'back\slash', '"', null), (5, E'tab\there', 'x', null);
update sa set v = 'w' where id = 1;
update sa set v = null, c = 'e f' where id in (1, 2);
update sa set t = t where id = 3;
update sa set id = id + 10 where id = 4;
update sa set v = v || '!' where id in (4, 5);
delete from sa where id in (1, 2, 3);
delete from sa;
insert into sc values ('a', 'v', 1), ('b c', null, 2), ('d', 'e', null);
insert into sc values (null, 'v', 3);
delete from sc where k2 = 1;
delete from sc;
insert into s1 values ('a'), (null), ('');
delete from s1;
insert into su values (1, 'x', 'y'), (2, 'x', 'y');
update su set "a
b" = 'z';
delete from su;
insert into lu values (1, 'x'), (2, 'x');
update lu set id = id;
delete from lu;
commit;

-- the same, one row per transaction
insert into fa values (10, 1, 0, '');
update fa set abalance = 1 where aid = 10;
update fa set aid = 11 where aid = 10;
delete from fa where aid = 10;
insert into fh values (1, 2, 3, 4, '2024-01-02 03:04:05', '2024-01-02 03:04:05', 'x', 10);
update fh set hid = 11 where hid = 10;
update fm set b = 'z' where a = 11;
update fm set k = 'k10' where a = 11;
delete from fm where a = 11;
insert into ja values (5, false, null, null, null, 'q', 1);
update ja set s = 't' where id = 5;
update ja set id = 6 where id = 5;
delete from ja where id = 5;
insert into sa values (6, 'u', 'v', null);
update sa set v = 'w' where id = 6;
update sa set id = 7 where id = 6;
delete from sa where id = 6;
