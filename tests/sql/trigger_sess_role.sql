\set VERBOSITY terse
set client_min_messages = warning;

-- the real queue code: events land in queues, a disabled queue refuses them
select pgq.create_queue('role_q');
select pgq.create_queue('role_off');
update pgq.queue set queue_disable_insert = true where queue_name = 'role_off';

create table sr_l (id int primary key, v text);
create table sr_s (id int primary key, v text);
create table sr_j (id int primary key, v text);
create trigger tg after insert or update or delete on sr_l for each row execute procedure pgq.logutriga('role_q');
create trigger tg after insert or update or delete on sr_s for each row execute procedure pgq.sqltriga('role_q');
create trigger tg after insert or update or delete on sr_j for each row execute procedure pgq.jsontriga('role_q');
create trigger tt after truncate on sr_l for each statement execute procedure pgq.logutriga('role_q');

-- what reached the queues (all queues share the event_template parent)
create function queued() returns table (ev_type text, ev_data text, ev_extra1 text) language sql as $$
    select ev_type, ev_data, ev_extra1 from pgq.event_template
     where ev_extra1 like 'public.sr\_%'
     order by ev_id
$$;

-- origin: events are written
show session_replication_role;
insert into sr_l values (1, 'origin');
insert into sr_s values (1, 'origin');
insert into sr_j values (1, 'origin');
-- local: the change happens, no event
set session_replication_role = local;
insert into sr_l values (2, 'local');
insert into sr_s values (2, 'local');
insert into sr_j values (2, 'local');
update sr_l set v = 'local upd';
delete from sr_j where id = 1;
truncate sr_l;
-- replica: ordinary triggers do not fire at all
set session_replication_role = replica;
insert into sr_l values (3, 'replica');
insert into sr_s values (3, 'replica');
insert into sr_j values (3, 'replica');
set session_replication_role = origin;
select * from queued();
select * from sr_l order by id;
select * from sr_s order by id;
select * from sr_j order by id;

-- a disabled queue refuses events in origin role
create table sr_off (id int primary key);
create trigger tg after insert on sr_off for each row execute procedure pgq.logutriga('role_off');
insert into sr_off values (1);
set session_replication_role = local;
insert into sr_off values (2);
set session_replication_role = origin;
-- a trigger enabled ALWAYS fires in replica role and may write there
alter table sr_off enable always trigger tg;
set session_replication_role = replica;
insert into sr_off values (3);
set session_replication_role = origin;
select id from sr_off order by id;
select ev_type, ev_data, ev_extra1 from pgq.event_template where ev_extra1 = 'public.sr_off';
-- local role skips even misconfigured triggers
create table sr_bad (v text);
create trigger tg after update on sr_bad for each row execute procedure pgq.logutriga();
insert into sr_bad values ('a');
set session_replication_role = local;
update sr_bad set v = 'b';
set session_replication_role = origin;
update sr_bad set v = 'c';
select * from sr_bad;
