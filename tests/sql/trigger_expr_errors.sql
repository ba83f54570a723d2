-- oracle: skip (server parse errors in override expressions carry an error position relative to the checked query text; the C triggers check "select <expr with $n>", skydeck checks the expression with row fields referenced as ($1)."col", so positions and quoted fragments differ)
\set VERBOSITY terse
set client_min_messages = warning;

create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$
begin
    raise warning 'event q=[%] type=[%] data=[%] x1=[%]', queue_name, ev_type, ev_data, ev_extra1;
    return 1;
end $$;

create table xe (id int primary key, x text);
-- unknown column or function: the error comes on first use, before deny
create trigger tl after insert on xe
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=nosuch');
insert into xe values (1, 'a');
drop trigger tl on xe;
create trigger tl after insert on xe
    for each row execute procedure pgq.logutriga('ql', 'deny', 'when=nosuch(x)');
insert into xe values (1, 'a');
drop trigger tl on xe;
-- a quoted identifier around a column name
create trigger tl after insert on xe
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1="x');
insert into xe values (1, 'a');
drop trigger tl on xe;
-- plain SQL syntax errors
create trigger tl after insert on xe
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=x +');
insert into xe values (1, 'a');
drop trigger tl on xe;
create trigger tl after insert on xe
    for each row execute procedure pgq.logutriga('ql', 'ev_type=id id');
insert into xe values (1, 'a');
drop trigger tl on xe;
-- a column dropped from under an expression
create trigger tl after insert on xe
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=x');
insert into xe values (1, 'a');
alter table xe drop column x;
insert into xe values (2);
select count(*) from xe;
