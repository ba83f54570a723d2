-- oracle: skip (skydeck-only: version numbers and the choices skydeck makes where upstream pgq_coop leaves the result unspecified)
\set VERBOSITY terse
set client_min_messages = 'warning';

-- versions: the pgq_coop API level implemented (the original reports its
-- extension version, NULL without one) and the revision of sql/pgq_coop.sql
select pgq_coop.version(), pgq_coop.skydeck_revision();

-- With several dead subconsumers, the one silent longest is taken first (the
-- original takes whichever row it meets first).
create temp view subs as
select c.co_name, s.sub_id, s.sub_last_tick, s.sub_batch, s.sub_next_tick
  from pgq.subscription s
  join pgq.consumer c on c.co_id = s.sub_consumer;
select pgq.create_queue('sq');
update pgq.queue set queue_ticker_max_count = 1, queue_ticker_max_lag = '0',
                     queue_ticker_idle_period = '0'
 where queue_name = 'sq';
select pgq_coop.register_subconsumer('sq', 'grp', 'idle');
select pgq_coop.register_subconsumer('sq', 'grp', 'busy');
select pgq.insert_event('sq', 'e1', '1');
select pgq.ticker('sq');
select pgq_coop.next_batch('sq', 'grp', 'busy');
update pgq.subscription set sub_active = '2005-01-02'
 where sub_consumer = (select co_id from pgq.consumer where co_name = 'grp.idle');
update pgq.subscription set sub_active = '2005-01-01'
 where sub_consumer = (select co_id from pgq.consumer where co_name = 'grp.busy');
select pgq_coop.next_batch('sq', 'grp', 'live', '1 hour');
select * from subs order by co_name;
select pgq_coop.finish_batch(1);
select pgq_coop.next_batch('sq', 'grp', 'live', '1 hour');
select * from subs order by co_name;
-- same silence: the one registered first
select pgq_coop.register_subconsumer('sq', 'grp', 'd1');
select pgq_coop.register_subconsumer('sq', 'grp', 'd2');
update pgq.subscription set sub_active = '2005-01-01'
 where sub_consumer in (select co_id from pgq.consumer where co_name in ('grp.d1', 'grp.d2'));
select pgq_coop.next_batch('sq', 'grp', 'live', '1 hour');
select * from subs order by co_name;
