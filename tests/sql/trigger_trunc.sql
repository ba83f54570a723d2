\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%] x2=[%] x3=[%] x4=[%]',
        queue_name, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4;
    return 1;
end $$;

-- one event per TRUNCATE statement: type R, or op TRUNCATE in JSON
create table tr_l (id int primary key, v text);
create table tr_s (a int, b int, v text, primary key (b, a));
create table tr_j (id int primary key, v text);
create table tr_nopk (v text);
create trigger tt after truncate on tr_l for each statement execute procedure pgq.logutriga('ql');
create trigger tt after truncate on tr_s for each statement execute procedure pgq.sqltriga('qs');
create trigger tt after truncate on tr_j for each statement execute procedure pgq.jsontriga('qj');
create trigger tt after truncate on tr_nopk for each statement execute procedure pgq.jsontriga('qj');
truncate tr_l;
truncate tr_s;
truncate tr_j;
truncate tr_nopk;
truncate tr_l, tr_s, tr_j;
-- truncating an empty table still fires; BEFORE and SKIP are accepted
create trigger tb before truncate on tr_l for each statement execute procedure pgq.sqltriga('qb', 'SKIP');
truncate tr_l;
drop trigger tb on tr_l;
-- the row trigger of the same table is not involved
create trigger tr after insert or update or delete on tr_l for each row execute procedure pgq.logutriga('qrow');
insert into tr_l values (1, 'x');
truncate tr_l;
select count(*) from tr_l;

-- options that need rows are refused on truncate triggers
create table tr_opt (id int primary key, v text);
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'ignore=v');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'pkey=v');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.sqltriga('q', 'backup');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.jsontriga('q', 'ev_extra1=1');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'when=true');
truncate tr_opt;
drop trigger bad on tr_opt;
-- errors come in argument order, the row-option checks last
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'backup', 'ignore=v', 'pkey=v');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'backup', 'pkey=v');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'ignore=v', 'ev_type=1');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga('q', 'nonsense', 'ev_type=1');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.jsontriga('q', 'SKIP');
truncate tr_opt;
drop trigger bad on tr_opt;
create trigger bad after truncate on tr_opt for each statement execute procedure pgq.logutriga();
truncate tr_opt;
drop trigger bad on tr_opt;

-- deny
create trigger dn after truncate on tr_opt for each statement execute procedure pgq.logutriga('qd', 'deny');
truncate tr_opt;
drop trigger dn on tr_opt;
create trigger dn after truncate on tr_opt for each statement execute procedure pgq.sqltriga('qd', 'deny');
truncate tr_opt;
drop trigger dn on tr_opt;
create trigger dn before truncate on tr_opt for each statement execute procedure pgq.jsontriga('qd', 'deny');
truncate tr_opt;
drop trigger dn on tr_opt;

-- statement-level triggers for row operations are refused
create trigger st after insert on tr_opt for each statement execute procedure pgq.logutriga('q');
insert into tr_opt values (1, 'a');
drop trigger st on tr_opt;
create trigger st before update on tr_opt for each statement execute procedure pgq.sqltriga('q');
update tr_opt set v = 'b';
drop trigger st on tr_opt;
create trigger st after delete on tr_opt for each statement execute procedure pgq.jsontriga('q');
delete from tr_opt;
drop trigger st on tr_opt;
select count(*) from tr_opt;
