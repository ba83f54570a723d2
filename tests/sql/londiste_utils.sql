-- londiste utilities: names (split, quote, qualify, find), column types,
-- trigger function detection, partitions for the dispatch handler (creation
-- with grants, triggers and rules; obsolete ones listed and dropped).
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its londiste too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'londiste') then
        create extension londiste cascade;
    end if;
end $$;

select * from londiste.split_fqname('a.b.c');
select * from londiste.split_fqname('tbl');
select londiste.quote_fqname('Odd S.T x'), londiste.quote_fqname('t'), londiste.quote_fqname('a.b.c');
select londiste.make_fqname('t'), londiste.make_fqname('s.t'), londiste.make_fqname(null);
create schema "Odd S";
create table "Odd S"."T x" (a int4, b text, c int4, primary key (a));
create sequence "Odd S".sq;
select londiste.find_table_oid('Odd S.T x') = '"Odd S"."T x"'::regclass::oid;
select londiste.find_seq_oid('Odd S.sq') = '"Odd S".sq'::regclass::oid;
select londiste.find_table_oid('Odd S.sq'), londiste.find_seq_oid('nosuch');
select londiste.find_rel_oid('Odd S.T x', 'r') is not null;
select londiste.find_column_types('Odd S.T x'), londiste.find_column_types('nosuch');
create table nokey (a int, b int);
select londiste.find_column_types('nokey');
select londiste.is_replica_func('pgq.logutriga'::regproc), londiste.is_replica_func('pgq.sqltriga'::regproc),
       londiste.is_replica_func('pgq.jsontriga'::regproc), londiste.is_replica_func('now'::regproc);
select londiste.version();
select londiste.upgrade_schema();

-- partitions
create role londiste_utils_r1;
create table events (id int4 primary key, ev_time timestamptz not null default now(), data text);
grant select, insert on events to londiste_utils_r1;
grant select on events to public;
create function ev_trg() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger ev_before before insert on events for each row execute procedure ev_trg();
create trigger ev_off after update on events for each row execute procedure ev_trg();
alter table events disable trigger ev_off;
create rule ev_rule as on delete to events do instead nothing;
select londiste.create_partition('events', 'events_2020_01', 'id', 'ev_time', '2020-01-15 10:00+00', 'month');
select londiste.create_partition('public.events', 'public.events_2020_01', 'id', 'ev_time', '2020-01-15 10:00+00', 'month');
select londiste.create_partition('events', 'events_2020_02_03', 'id', '', '2020-02-03', 'day');
select londiste.create_partition('events', null, 'id', '', '2020-02-03', 'day');
select c.relname, pg_get_constraintdef(k.oid)
  from pg_constraint k join pg_class c on c.oid = k.conrelid
 where c.relname like 'events_%' and k.contype = 'c' order by 1;
select c.relname, (select string_agg(i.inhparent::regclass::text, ',') from pg_inherits i where i.inhrelid = c.oid) as parent,
       array(select a::text from unnest(c.relacl) a order by 1) as acl
  from pg_class c where c.relname like 'events_%' and c.relkind = 'r' order by 1;
select tgrelid::regclass, tgname, tgenabled from pg_trigger
 where tgrelid::regclass::text like 'events%' and not tgisinternal order by 1, 2;
select c.relname, r.rulename, r.ev_enabled from pg_rewrite r join pg_class c on c.oid = r.ev_class
 where c.relname like 'events%' order by 1, 2;
select indexrelid::regclass from pg_index where indrelid = 'events_2020_01'::regclass;

select londiste.is_obsolete_partition('events_2020_01', '1 month', 'month');
select londiste.is_obsolete_partition('events_2999_01', '1 month', 'monthly');
select londiste.is_obsolete_partition('events', '1 month', 'month');
select londiste.is_obsolete_partition('events_2020', '1 year', 'year');
select londiste.is_obsolete_partition('events_2020_01_01_05', '1 day', 'hourly');
select londiste.is_obsolete_partition('events_2020_01_01', '1 day', 'week');
create table events_2999_01 (like events);
select * from londiste.list_obsolete_partitions('public.events', '1 month', 'month');
select * from londiste.list_obsolete_partitions('events', '1 month', 'month');
select * from londiste.list_obsolete_partitions('events', '1 day', 'day');
select * from londiste.list_obsolete_partitions('events', '1 day', 'fortnight');
select * from londiste.drop_obsolete_partitions('events', '1 month', 'month');
select relname from pg_class where relname like 'events_%' and relkind = 'r' order by 1;
drop table events_2999_01, events_2020_02_03;
drop table events;
drop role londiste_utils_r1;
