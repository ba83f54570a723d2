-- Who may fire the event triggers: the triggers write through
-- pgq.insert_event with the rights of the user changing the table, so that
-- user needs pgq_writer (EXECUTE on insert_event) besides the table
-- privilege -- and a pgq_writer can write any event to any queue anyway.
-- This is what makes the triggers' per-session cache, which the session
-- can overwrite, no privilege boundary.
\set VERBOSITY terse
set client_min_messages = 'warning';

select 'pgqt_app_' || current_database() as r_app \gset
create role :"r_app";

select pgq.create_queue('tq');
create table guarded (id int primary key, v text);
create trigger l after insert or update or delete on guarded
    for each row execute procedure pgq.logutriga('tq');
create table guarded_js (id int primary key, v text);
create trigger j after insert on guarded_js
    for each row execute procedure pgq.jsontriga('tq');
create table guarded_sql (id int primary key, v text);
create trigger s after insert on guarded_sql
    for each row execute procedure pgq.sqltriga('tq');
grant select, insert, update, delete on guarded, guarded_js, guarded_sql to :"r_app";

-- the table privilege alone is not enough: every trigger is refused
set role :"r_app";
insert into guarded values (1, 'a');
insert into guarded_js values (1, 'a');
insert into guarded_sql values (1, 'a');
reset role;
select count(*) from guarded;

-- with pgq_writer it works, and such a user could write any event directly
grant pgq_writer to :"r_app";
set role :"r_app";
insert into guarded values (1, 'a');
update guarded set v = 'b' where id = 1;
delete from guarded where id = 1;
insert into guarded_js values (1, 'a');
insert into guarded_sql values (1, 'a');
select pgq.insert_event('tq', 'anything', 'at all') > 0 as direct_insert_allowed;
-- but reading the events is not a writer's business
select count(*) from pgq.event_1;
reset role;
select ev_type, ev_data, ev_extra1 from pgq.event_1 order by ev_id;

drop table guarded, guarded_js, guarded_sql;
select pgq.drop_queue('tq');
drop role :"r_app";
