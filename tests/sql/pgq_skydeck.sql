-- oracle: skip (skydeck-only: version numbers, the generated insert path, and documented deviations from the C extension)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- versions: the API level implemented and the revision of sql/pgq.sql
select pgq.version(), pgq.skydeck_revision();

-- every queue gets static insert branches as soon as it is created
select pgq.create_queue('s1');
select prosrc like '%-- skydeck:generated%' as generated,
       prosrc like '%INSERT INTO pgq.event_1_0 %' as has_s1
  from pg_proc where oid = 'pgq.insert_event(text,text,text,text,text,text,text)'::regprocedure;
select prosrc like '%INSERT INTO pgq.event_1_2 %' as raw_has_s1
  from pg_proc where oid = 'pgq.insert_event_raw(text,bigint,timestamptz,integer,integer,text,text,text,text,text,text)'::regprocedure;

-- a queue the generated code does not know yet goes through the dynamic path
create temp table saved as
select prosrc from pg_proc where oid = 'pgq.insert_event(text,text,text,text,text,text,text)'::regprocedure;
select pgq.create_queue('s2');
do $$ begin
  execute format('create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text, ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text) returns bigint language plpgsql security definer as %L',
                 (select prosrc from saved));
end $$;
select pgq.insert_event('s2', 'dynamic', 'a');
select pgq.insert_event('s2', 'dynamic', 'b', 'x1', null, null, 'x4');
select pgq.insert_event_raw('s2', 40, null, 7, 2, 'dynamic-raw', 'c', null, null, null, null);
select ev_id, ev_owner, ev_retry, ev_type, ev_data, ev_extra1, ev_extra4, ev_time is not null
  from pgq.event_2_0 order by ev_id;
select pgq._insert_regen();
select pgq.insert_event('s2', 'static', 'd');
select count(*) from pgq.event_2_0;

-- someone else's insert_event (a test stub, say) survives create/drop_queue
create or replace function pgq.insert_event(queue_name text, ev_type text, ev_data text, ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
returns bigint language plpgsql as $$ begin raise warning 'stub: % %', queue_name, ev_type; return 0; end $$;
select pgq.create_queue('s3');
select pgq.insert_event('s3', 'to-stub', 'x');
select pgq.drop_queue('s3');
select pgq.insert_event('s1', 'to-stub', 'x');
select pgq._insert_regen(false);
select pgq._insert_regen(true);
select pgq.insert_event('s1', 'real', 'x');
select prosecdef from pg_proc where oid = 'pgq.insert_event(text,text,text,text,text,text,text)'::regprocedure;

-- many queues: each event lands in its own queue's current table
select count(pgq.create_queue('many_' || i)) from generate_series(1, 60) i;
select count(*) from (
  select pgq.insert_event('many_' || i, 'm', i::text) from generate_series(1, 60) i) s;
update pgq.queue set queue_cur_table = 2 where queue_name like 'many\_%' and queue_id % 3 = 0;
select count(*) from (
  select pgq.insert_event_raw('many_' || i, null, null, null, null, 'r', i::text, null, null, null, null)
    from generate_series(1, 60) i) s;
do $$
declare q record; n int; bad int := 0;
begin
  for q in select queue_id, queue_name, queue_cur_table from pgq.queue where queue_name like 'many\_%' loop
    execute format('select count(*) from pgq.event_%s_%s where ev_data = %L', q.queue_id, q.queue_cur_table,
                   substr(q.queue_name, 6)) into n;
    if n <> (case when q.queue_cur_table = 2 then 1 else 2 end) then bad := bad + 1; end if;
    execute format('select count(*) from pgq.event_%s', q.queue_id) into n;
    if n <> 2 then bad := bad + 1; end if;
  end loop;
  raise warning 'misplaced events: %', bad;
end $$;
select count(pgq.drop_queue('many_' || i)) from generate_series(1, 60) i;

-- the trigger-style call: an assignment in PL/pgSQL
do $$
declare id bigint;
begin
  id := pgq.insert_event('s1', 'assign', 'x', 'e1', 'e2', 'e3', 'e4');
  raise warning 'assigned id %', id;
end $$;

-- per-transaction limit: events of a rolled back savepoint do not count
-- (the C extension counts them), and nested functions with their own SET
-- clause do not reset the count
update pgq.queue set queue_per_tx_limit = 2 where queue_name = 's1';
begin;
select pgq.insert_event('s1', 'l', '1');
savepoint sp;
select pgq.insert_event('s1', 'l', '2');
rollback to savepoint sp;
select pgq.insert_event('s1', 'l', '3');
select pgq.insert_event('s1', 'l', '4');
rollback;
create function put_one(q text) returns bigint language plpgsql set work_mem = '1MB'
as $$ begin return pgq.insert_event(q, 'nested', 'x'); end $$;
begin;
select put_one('s1');
select put_one('s1');
select put_one('s1');
rollback;
drop function put_one(text);
update pgq.queue set queue_per_tx_limit = null where queue_name = 's1';

-- a consumer whose tick row is gone: the message names the tick
select pgq.register_consumer('s1', 'lost');
update pgq.subscription set sub_last_tick = 424242
 where sub_consumer = (select co_id from pgq.consumer where co_name = 'lost');
select pgq.next_batch('s1', 'lost');

select pgq.drop_queue('s1', true);
select pgq.drop_queue('s2', true);
select count(*) from pgq.queue;
