-- oracle: skip (skydeck-only: londiste.merge_on_time, the multimaster handler's conflict function, in PL/pgSQL; the original's was PL/Python outside the extension)
\set VERBOSITY terse
set client_min_messages = 'warning';
set DateStyle = 'ISO';

create table mergetest (intcol int4 primary key, txtcol text, timecol timestamp);

-- insert into an empty table
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'I:intcol', 'intcol=5&txtcol=v1&timecol=2010-09-09+12:12', 'mergetest', null, null, null);
select * from mergetest;
-- an insert with an earlier time loses
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'I:intcol', 'intcol=5&txtcol=v2&timecol=2010-09-08+12:12', 'mergetest', null, null, null);
select * from mergetest;
-- an insert with a later time wins (becomes an update)
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'I:intcol', 'intcol=5&txtcol=v3&timecol=2010-09-10+12:12', 'mergetest', null, null, null);
select * from mergetest;
-- an update of a missing row inserts it; urlencoded unicode and NULL
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'U:intcol', 'intcol=6&txtcol=%C3%B5un+a%26b&timecol=2010-09-10+00:00', 'public.mergetest', null, null, null);
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'U:intcol', 'intcol=6&txtcol&timecol=2010-09-11', 'public.mergetest', null, null, null);
select * from mergetest order by 1;
-- a delete newer than the row removes it, an older one is ignored
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'D:intcol', 'intcol=5&txtcol=v3&timecol=2010-09-01', 'mergetest', null, null, null);
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'D:intcol', 'intcol=5&txtcol=v3&timecol=2010-09-12', 'mergetest', null, null, null);
select * from mergetest order by 1;

-- an alternative key: a row with the same altpk but another pk is replaced
create table "Alt Test" (id int4 primary key, "Code" text unique, ts timestamptz);
insert into "Alt Test" values (1, 'a', '2020-01-01 00:00+00');
select londiste.merge_on_time('timefield=ts&altpk=Code', null, null, null, null, null, 'I:id', 'id=2&Code=a&ts=2020-01-02+00:00%2B00', 'public.Alt Test', null, null, null);
select londiste.merge_on_time('timefield=ts&altpk=Code', null, null, null, null, null, 'U:id', 'id=2&Code=a&ts=2020-01-03+00:00%2B00', 'public.Alt Test', null, null, null);
select id, "Code", ts at time zone 'UTC' from "Alt Test";

-- the parent row must exist
create table parent (pid int4 primary key);
create table child (id int4 primary key, pid int4, ts timestamp);
select londiste.merge_on_time('timefield=ts&fkey_ref_table=public.parent&fkey_cols=pid&fkey_ref_cols=pid', null, null, null, null, null, 'I:id', 'id=1&pid=7&ts=2020-01-01', 'child', null, null, null);
insert into parent values (7);
select londiste.merge_on_time('timefield=ts&fkey_ref_table=public.parent&fkey_cols=pid&fkey_ref_cols=pid', null, null, null, null, null, 'I:id', 'id=1&pid=7&ts=2020-01-01', 'child', null, null, null);
select * from child;

-- errors
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'I', 'intcol=9', 'mergetest', null, null, null);
select londiste.merge_on_time('', null, null, null, null, null, 'I:intcol', 'intcol=9', 'mergetest', null, null, null);
select londiste.merge_on_time('timefield=timecol', null, '1', '2', null, null, 'I:intcol', 'intcol=9', 'mergetest', null, null, null);
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'I:intcol', 'intcol=5&timecol', 'mergetest', null, null, null);
select londiste.merge_on_time('timefield=timecol', null, null, null, null, null, 'U:intcol', 'intcol=6&timecol', 'mergetest', null, null, null);

select londiste._url_decode('a+b%20c%C3%A4%2B'), londiste._url_decode(null);
