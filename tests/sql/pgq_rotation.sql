-- Table rotation never empties a table a consumer may still read from.
-- Whether a rotation may go ahead depends on the oldest transaction in the
-- whole cluster, so the steps that must succeed retry (rq_rotate) until other
-- sessions' transactions no longer hold the horizon back; the steps that must
-- be refused are refused whatever else runs.
\set VERBOSITY terse
set client_min_messages = 'warning';

select pgq.create_queue('rq');
select pgq.set_queue_config('rq', 'rotation_period', '0');
select pgq.set_queue_config('rq', 'ticker_max_count', '1');
select pgq.set_queue_config('rq', 'ticker_max_lag', '1 hour');
select pgq.register_consumer('rq', 'slow');

create function rq_state(out cur_table int, out step2_set bool, out in_0 bigint, out in_1 bigint, out in_2 bigint)
language sql as $$
  select queue_cur_table, queue_switch_step2 is not null,
         (select count(*) from pgq.event_1_0), (select count(*) from pgq.event_1_1),
         (select count(*) from pgq.event_1_2)
    from pgq.queue where queue_name = 'rq'
$$;

-- move the consumer to the newest tick, then rotate; repeat until it happens
create procedure rq_rotate() language plpgsql as $$
declare
    v_before int;
    v_batch bigint;
begin
    select queue_cur_table into v_before from pgq.queue where queue_name = 'rq';
    for i in 1 .. 600 loop
        perform pgq.force_tick('rq');
        perform pgq.ticker('rq');
        commit;
        loop
            v_batch := pgq.next_batch('rq', 'slow');
            exit when v_batch is null;
            perform pgq.finish_batch(v_batch);
        end loop;
        commit;
        perform pgq.maint_rotate_tables_step1('rq');
        commit;
        perform pgq.maint_rotate_tables_step2();
        commit;
        if (select queue_cur_table from pgq.queue where queue_name = 'rq') <> v_before then
            return;
        end if;
        perform pg_sleep(0.1);
    end loop;
    raise exception 'rotation did not happen';
end $$;

select pgq.insert_event('rq', 't0', 'a');
select pgq.insert_event('rq', 't0', 'b');
select pgq.ticker('rq');

-- the consumer still sits on the tick taken with the queue: no rotation
select * from pgq.maint_operations();
select pgq.maint_rotate_tables_step1('rq');
select pgq.maint_rotate_tables_step2();
select * from rq_state();

-- once it has moved on, the rotation happens
select pgq.next_batch('rq', 'slow');
select ev_type, ev_data from pgq.get_batch_events(1);
select pgq.finish_batch(1);
call rq_rotate();
select * from rq_state();

-- new events go to table 1
select pgq.insert_event('rq', 't1', 'c') > 0 as inserted;
select pgq.insert_event('rq', 't1', 'd') > 0 as inserted;
select pgq.ticker('rq') is not null;
select * from rq_state();

-- the consumer is behind the rotation again: the next one must wait
select pgq.maint_rotate_tables_step1('rq');
select * from rq_state();
select pgq.next_batch('rq', 'slow') as b \gset
select ev_type, ev_data from pgq.get_batch_events(:b);
select pgq.finish_batch(:b);

-- caught up: rotate to table 2
call rq_rotate();
select * from rq_state();
select pgq.insert_event('rq', 't2', 'e') > 0 as inserted;
select pgq.insert_event('rq', 't2', 'f') > 0 as inserted;
select pgq.ticker('rq') is not null;
select pgq.maint_rotate_tables_step1('rq');
select * from rq_state();
select pgq.next_batch('rq', 'slow') as b \gset
select ev_type, ev_data from pgq.get_batch_events(:b);
select pgq.finish_batch(:b);

-- and back to table 0, which is emptied first
call rq_rotate();
select * from rq_state();
select pgq.current_event_table('rq');
select pgq.insert_event('rq', 't0-again', 'g') > 0 as inserted;
select * from rq_state();

-- a queue without consumers rotates whenever due
select pgq.unregister_consumer('rq', 'slow');
select pgq.maint_rotate_tables_step1('rq');
select pgq.maint_rotate_tables_step2();
select * from rq_state();

-- a rotation left half-done (step2 missing) is finished by the next round
update pgq.queue set queue_rotation_period = '1 hour' where queue_name = 'rq';
update pgq.queue set queue_switch_step2 = null where queue_name = 'rq';
select * from pgq.maint_operations();
select pgq.maint_rotate_tables_step1('rq');
select pgq.maint_rotate_tables_step2();
select * from pgq.maint_operations();

select pgq.drop_queue('rq');
drop procedure rq_rotate();
drop function rq_state();
