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

create table xa (nr int primary key, col1 text, col2 text);
create trigger tj after insert or update or delete on xa
    for each row execute procedure pgq.jsontriga('qj',
        'ev_extra1=(nr+3)::text', 'ev_extra2=col1||col2', 'ev_extra3=$$333$$',
        'ev_extra4=$x$four$x$', 'ev_type=''my type''');
create trigger tl after insert or update or delete on xa
    for each row execute procedure pgq.logutriga('ql',
        'ev_extra1=(nr+3)::text', 'ev_extra2=col1||col2', 'ev_extra3=$$333$$',
        'ev_extra4=$x$four$x$', 'ev_type=''my type''');
create trigger ts after insert or update or delete on xa
    for each row execute procedure pgq.sqltriga('qs',
        'ev_extra1=(nr+3)::text', 'ev_extra2=col1||col2', 'ev_extra3=$$333$$',
        'ev_extra4=$x$four$x$', 'ev_type=''my type''');
insert into xa values (1, 'col1', 'col2');
update xa set col1 = 'col1x', col2 = 'col2x';
-- the new row for updates, the old row for deletes; NULL results stay NULL
update xa set col2 = null;
delete from xa;
drop trigger tj on xa;
drop trigger tl on xa;
drop trigger ts on xa;

-- ev_data replaces the encoded row; values are the text output of the result
create table xb (id int primary key, v numeric, ts timestamptz, flag bool);
set timezone = 'UTC';
set DateStyle = 'ISO, YMD';
create trigger tl after insert or update on xb
    for each row execute procedure pgq.logutriga('ql', 'ev_data=row(id, v * 2)',
        'ev_extra1=ts', 'ev_extra2=flag', 'ev_extra3=array[id, id]', 'ev_extra4=null');
insert into xb values (1, 1.25, '2020-02-03 04:05:06+00', true);
update xb set flag = false;
drop trigger tl on xb;
-- the first override of a field wins
create trigger tl after insert on xb
    for each row execute procedure pgq.logutriga('ql', 'ev_type=''first''', 'ev_type=''second''', 'ev_data=id');
insert into xb values (2, 0, null, null);
drop trigger tl on xb;

-- what counts as a column reference: exact names only, not inside strings,
-- comments, dollar quotes, qualified names or after a dot
create table xc (id int primary key, "Mixed" text, two_words text, x text);
insert into xc values (0, 'M', 'T', 'X');
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql',
        'ev_extra1=''id '' || id || '' x='' || x /* id */ -- x
', 'ev_extra2=$id$ id $id$ || $$x$$ || e''\'' id'' || (select max(xc.id) from xc)',
        'ev_extra3=pg_catalog.upper(two_words) || lower(x)',
        'ev_extra4=id::text||.5||1e2||1.5e-1||1E+1');
insert into xc values (1, 'mixed', 'two', 'ex');
drop trigger tl on xc;
-- a quoted identifier is not matched, the bare word is matched exactly
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=Mixed');
insert into xc values (2, 'mixed', 'two', 'ex');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=ID');
insert into xc values (2, 'mixed', 'two', 'ex');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=xc.x');
insert into xc values (2, 'mixed', 'two', 'ex');
drop trigger tl on xc;
-- tokenizer errors: unterminated quotes and comments, stray dot or dollar
-- (parse errors reported by the server are in trigger_expr_errors)
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=''open');
insert into xc values (3, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=1 /* open');
insert into xc values (3, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=$q$ open');
insert into xc values (3, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=x .');
insert into xc values (3, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=$ x');
insert into xc values (3, 'a', 'b', 'c');
drop trigger tl on xc;
-- runtime errors of the expression
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=(1/(id-3))::text');
insert into xc values (3, 'a', 'b', 'c');
insert into xc values (4, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra2=generate_series(1, id)');
insert into xc values (5, 'a', 'b', 'c');
drop trigger tl on xc;
-- bad and misspelled parameters
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'skip');
insert into xc values (6, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra5=1');
insert into xc values (6, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.sqltriga('ql', 'Backup');
insert into xc values (6, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.jsontriga('ql', '');
insert into xc values (6, 'a', 'b', 'c');
drop trigger tl on xc;
create trigger tl after insert on xc
    for each row execute procedure pgq.jsontriga();
insert into xc values (6, 'a', 'b', 'c');
drop trigger tl on xc;
-- the queue name is not checked by the trigger
create trigger tl after insert on xc
    for each row execute procedure pgq.jsontriga('');
insert into xc values (6, 'a', 'b', 'c');
drop trigger tl on xc;
-- standard_conforming_strings as seen when the trigger is first used
set standard_conforming_strings = off;
create trigger tl after insert on xc
    for each row execute procedure pgq.logutriga('ql', 'ev_extra1=''a\''b'' || id');
insert into xc values (7, 'a', 'b', 'c');
drop trigger tl on xc;
set standard_conforming_strings = on;
