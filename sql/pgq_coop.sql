-- skydeck: cooperative consumers (schema pgq_coop) in PL/pgSQL.
--
-- A drop-in replacement for pgq_coop 3.4: the same function signatures,
-- parameter names, return values, error texts and grants, working on the
-- tables of schema pgq exactly as the original does, so CoopConsumer clients
-- and anything reading pgq.subscription see no difference.
--
-- How a group is represented (the contract shared with pgq itself):
--   * the main consumer is an ordinary pgq registration; its row carries the
--     group's position, and pgq_coop never leaves a batch open on it;
--   * each subconsumer is a pgq registration named '<main>.<sub>' whose row has
--     the main row's sub_id, so retry events (ev_owner = sub_id) reach the
--     whole group and pgq.unregister_consumer on the main removes them all;
--   * an idle subconsumer has sub_last_tick and sub_next_tick NULL; a busy one
--     has both set and holds the batch id, which is what lets the batch
--     functions of pgq (get_batch_events, event_retry, ...) find the batch.
--
-- The revision marker below and pgq_coop.skydeck_revision() are bumped
-- together whenever this file changes in a way installed databases must
-- receive.
-- skydeck-revision: 1
--
-- This file is one idempotent install-and-upgrade script: it can be fed to
-- `psql -f` or run by `skydeck install` inside a single transaction with the
-- simple query protocol, so it has no psql meta-commands and no transaction
-- control.  Re-running it changes nothing but function bodies and grants.

DO $install_guard$
DECLARE
    v_rev int4;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgq_coop') THEN
        RAISE EXCEPTION 'skydeck: the extension pgq_coop is installed in this database; skydeck''s pgq_coop is its plain-SQL replacement and is not installed over it'
            USING HINT = 'Stop the cooperative consumers, DROP EXTENSION pgq_coop, then install again.';
    END IF;
    -- the functions below only fail when called, so say it now
    IF pg_catalog.to_regprocedure('pgq.register_consumer(text,text)') IS NULL THEN
        RAISE EXCEPTION 'skydeck: pgq_coop needs pgq, which is not installed in this database'
            USING HINT = 'Install pgq first (skydeck install pulls it in by itself).';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'pgq_coop' AND p.proname = 'skydeck_revision'
                  AND p.pronargs = 0)
    THEN
        EXECUTE 'SELECT pgq_coop.skydeck_revision()' INTO v_rev;
        IF v_rev > 1 THEN
            RAISE EXCEPTION 'skydeck: pgq_coop revision % is installed, newer than revision 1 carried by this script; downgrades are not supported', v_rev;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgq_coop') THEN
        CREATE SCHEMA pgq_coop;
    END IF;
END
$install_guard$;

-- Which revision of this file the database carries (the installer compares it
-- with the one embedded in the binary).
CREATE OR REPLACE FUNCTION pgq_coop.skydeck_revision()
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT 1 $$;

-- The API version implemented.  The original reports its extension version;
-- without an extension that would be NULL, which tells a client nothing.
CREATE OR REPLACE FUNCTION pgq_coop.version()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN '3.4';
END;
$$;


-- ---------------------------------------------------------------------------
-- Registration
-- ---------------------------------------------------------------------------

-- Register '<consumer>.<subconsumer>' on the queue, registering the main
-- consumer too when needed.  1 = new subconsumer, 0 = it existed already.
-- A new subconsumer starts idle and adopts the main consumer's sub_id.
CREATE OR REPLACE FUNCTION pgq_coop.register_subconsumer(
    i_queue_name text,
    i_consumer_name text,
    i_subconsumer_name text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_coop, pgq, pg_temp
AS $$
DECLARE
    v_sub_name text := i_consumer_name || '.' || i_subconsumer_name;
    v_new int4;
    m record;
BEGIN
    PERFORM pgq.register_consumer(i_queue_name, i_consumer_name);
    -- pgq does the checks and the bookkeeping of a plain registration; only
    -- the row it creates needs turning into a subconsumer
    v_new := pgq.register_consumer(i_queue_name, v_sub_name);
    IF v_new = 1 THEN
        SELECT q.queue_id, ms.sub_id AS main_sub_id, sc.co_id AS sub_co_id
          INTO m
          FROM pgq.queue q
          JOIN pgq.subscription ms ON ms.sub_queue = q.queue_id
          JOIN pgq.consumer mc ON mc.co_id = ms.sub_consumer
          CROSS JOIN pgq.consumer sc
         WHERE q.queue_name = i_queue_name
           AND mc.co_name = i_consumer_name
           AND sc.co_name = v_sub_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'main consumer not found';
        END IF;
        UPDATE pgq.subscription
           SET sub_id = m.main_sub_id,
               sub_last_tick = NULL,
               sub_next_tick = NULL
         WHERE sub_queue = m.queue_id
           AND sub_consumer = m.sub_co_id;
    END IF;
    RETURN v_new;
END;
$$;

-- Remove one subconsumer's registration.  1 = removed, 0 = was not
-- registered.  A batch it still holds is an error with i_batch_handling 0
-- (or anything but 1); with 1 the batch is dropped, and since the main
-- consumer moved past it when it was handed out, its events are not seen
-- again by the group.  The group's retry events stay (they belong to the
-- shared sub_id), and so does the name in pgq.consumer, as in the original:
-- only pgq.unregister_consumer tidies names away.
CREATE OR REPLACE FUNCTION pgq_coop.unregister_subconsumer(
    i_queue_name text,
    i_consumer_name text,
    i_subconsumer_name text,
    i_batch_handling integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_coop, pgq, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    SELECT sub.sub_queue, sub.sub_consumer, sub.sub_batch
      INTO s
      FROM pgq.subscription sub
      JOIN pgq.queue q ON q.queue_id = sub.sub_queue
      JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
     WHERE q.queue_name = i_queue_name
       AND c.co_name = i_consumer_name || '.' || i_subconsumer_name;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    IF s.sub_batch IS NOT NULL AND i_batch_handling IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'subconsumer has active batch';
    END IF;

    DELETE FROM pgq.subscription
     WHERE sub_queue = s.sub_queue
       AND sub_consumer = s.sub_consumer;
    RETURN 1;
END;
$$;


-- ---------------------------------------------------------------------------
-- Batches
-- ---------------------------------------------------------------------------

-- Give the subconsumer a batch (NULL = nothing to do now).  Main consumer and
-- subconsumer are registered on the fly.  A subconsumer that still holds a
-- batch gets the same batch again.  With i_dead_interval, one other
-- subconsumer of the group that has been silent longer than that is removed
-- first, and if it held a batch this subconsumer takes it over.  Otherwise the
-- main consumer's next batch (tuned by i_min_lag, i_min_count, i_min_interval
-- as in pgq.next_batch_custom) is moved to the subconsumer: the main position
-- advances when a batch is handed out, not when it is finished, which is what
-- lets several subconsumers work at once.
CREATE OR REPLACE FUNCTION pgq_coop.next_batch_custom(
    i_queue_name text,
    i_consumer_name text,
    i_subconsumer_name text,
    i_min_lag interval,
    i_min_count int4,
    i_min_interval interval,
    i_dead_interval interval)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_coop, pgq, pg_temp
AS $$
DECLARE
    v_sub_name text := i_consumer_name || '.' || i_subconsumer_name;
    m record;
    s record;
    d record;
    b record;
BEGIN
    -- The main row is the group's lock: subconsumers asking at the same time
    -- queue up here, so a batch is never handed out twice.
    SELECT sub.sub_queue, sub.sub_consumer, sub.sub_next_tick
      INTO m
      FROM pgq.subscription sub
      JOIN pgq.queue q ON q.queue_id = sub.sub_queue
      JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
     WHERE q.queue_name = i_queue_name
       AND c.co_name = i_consumer_name
       FOR UPDATE OF sub;
    IF NOT FOUND THEN
        PERFORM pgq_coop.register_subconsumer(i_queue_name, i_consumer_name, i_subconsumer_name);
        SELECT sub.sub_queue, sub.sub_consumer, sub.sub_next_tick
          INTO m
          FROM pgq.subscription sub
          JOIN pgq.queue q ON q.queue_id = sub.sub_queue
          JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
         WHERE q.queue_name = i_queue_name
           AND c.co_name = i_consumer_name
           FOR UPDATE OF sub;
    END IF;
    -- someone used the main consumer with plain pgq.next_batch*; handing
    -- out further batches would skip or repeat that one
    IF m.sub_next_tick IS NOT NULL THEN
        RAISE EXCEPTION 'main consumer has batch open?';
    END IF;

    SELECT sub.sub_consumer, sub.sub_id, sub.sub_batch
      INTO s
      FROM pgq.subscription sub
      JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
     WHERE sub.sub_queue = m.sub_queue
       AND c.co_name = v_sub_name;
    IF NOT FOUND THEN
        PERFORM pgq_coop.register_subconsumer(i_queue_name, i_consumer_name, i_subconsumer_name);
        SELECT sub.sub_consumer, sub.sub_id, sub.sub_batch
          INTO s
          FROM pgq.subscription sub
          JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
         WHERE sub.sub_queue = m.sub_queue
           AND c.co_name = v_sub_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'subconsumer not found';
        END IF;
    END IF;

    IF s.sub_batch IS NOT NULL THEN
        UPDATE pgq.subscription
           SET sub_active = now()
         WHERE sub_queue = m.sub_queue
           AND sub_consumer = s.sub_consumer;
        RETURN s.sub_batch;
    END IF;

    IF i_dead_interval IS NOT NULL THEN
        -- the longest-silent one first, so the choice does not depend on
        -- where rows happen to lie in the table
        SELECT sub.sub_consumer, sub.sub_batch, sub.sub_last_tick, sub.sub_next_tick
          INTO d
          FROM pgq.subscription sub
         WHERE sub.sub_queue = m.sub_queue
           AND sub.sub_id = s.sub_id
           AND sub.sub_consumer <> s.sub_consumer
           AND sub.sub_consumer <> m.sub_consumer
           AND sub.sub_active < now() - i_dead_interval
         ORDER BY sub.sub_active, sub.sub_consumer
         LIMIT 1;
        IF FOUND THEN
            DELETE FROM pgq.subscription
             WHERE sub_queue = m.sub_queue
               AND sub_consumer = d.sub_consumer;
            IF d.sub_batch IS NOT NULL THEN
                UPDATE pgq.subscription
                   SET sub_batch = d.sub_batch,
                       sub_last_tick = d.sub_last_tick,
                       sub_next_tick = d.sub_next_tick,
                       sub_active = now()
                 WHERE sub_queue = m.sub_queue
                   AND sub_consumer = s.sub_consumer;
                RETURN d.sub_batch;
            END IF;
        END IF;
    END IF;

    SELECT f.batch_id, f.cur_tick_id, f.prev_tick_id
      INTO b
      FROM pgq.next_batch_custom(i_queue_name, i_consumer_name,
                                 i_min_lag, i_min_count, i_min_interval) f;
    IF b.batch_id IS NULL THEN
        RETURN NULL;
    END IF;

    -- The main consumer moves to the batch's end at once; the batch id goes
    -- to the subconsumer (in this order: batch ids are unique).
    UPDATE pgq.subscription
       SET sub_batch = NULL,
           sub_active = now(),
           sub_last_tick = sub_next_tick,
           sub_next_tick = NULL
     WHERE sub_queue = m.sub_queue
       AND sub_consumer = m.sub_consumer;
    UPDATE pgq.subscription
       SET sub_batch = b.batch_id,
           sub_last_tick = b.prev_tick_id,
           sub_next_tick = b.cur_tick_id,
           sub_active = now()
     WHERE sub_queue = m.sub_queue
       AND sub_consumer = s.sub_consumer;
    RETURN b.batch_id;
END;
$$;

-- next_batch_custom without dead-subconsumer takeover.
CREATE OR REPLACE FUNCTION pgq_coop.next_batch_custom(
    i_queue_name text,
    i_consumer_name text,
    i_subconsumer_name text,
    i_min_lag interval,
    i_min_count int4,
    i_min_interval interval)
RETURNS bigint
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_coop.next_batch_custom(i_queue_name, i_consumer_name, i_subconsumer_name,
                                      i_min_lag, i_min_count, i_min_interval, NULL);
END;
$$;

-- The next batch, ending at the next tick.
CREATE OR REPLACE FUNCTION pgq_coop.next_batch(
    i_queue_name text,
    i_consumer_name text,
    i_subconsumer_name text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_coop.next_batch_custom(i_queue_name, i_consumer_name, i_subconsumer_name,
                                      NULL, NULL, NULL, NULL);
END;
$$;

-- The next batch, taking over from a subconsumer silent for i_dead_interval.
CREATE OR REPLACE FUNCTION pgq_coop.next_batch(
    i_queue_name text,
    i_consumer_name text,
    i_subconsumer_name text,
    i_dead_interval interval)
RETURNS bigint
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_coop.next_batch_custom(i_queue_name, i_consumer_name, i_subconsumer_name,
                                      NULL, NULL, NULL, i_dead_interval);
END;
$$;

-- Close a subconsumer's batch: it becomes idle again (both ticks NULL; the
-- group's position is on the main row already).  An unknown batch is a
-- warning and 0, as in pgq.finish_batch, with the original's own wording.
CREATE OR REPLACE FUNCTION pgq_coop.finish_batch(i_batch_id bigint)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_coop, pgq, pg_temp
AS $$
BEGIN
    UPDATE pgq.subscription
       SET sub_active = now(),
           sub_last_tick = NULL,
           sub_next_tick = NULL,
           sub_batch = NULL
     WHERE sub_batch = i_batch_id;
    IF NOT FOUND THEN
        RAISE WARNING 'coop_finish_batch: batch % not found', i_batch_id;
        RETURN 0;
    END IF;
    RETURN 1;
END;
$$;


-- ---------------------------------------------------------------------------
-- Privileges (the original's grants.ini, re-applied on every run)
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgq_coop TO public;

REVOKE ALL ON FUNCTION
    pgq_coop.register_subconsumer(text, text, text),
    pgq_coop.unregister_subconsumer(text, text, text, integer),
    pgq_coop.next_batch(text, text, text),
    pgq_coop.next_batch(text, text, text, interval),
    pgq_coop.next_batch_custom(text, text, text, interval, int4, interval),
    pgq_coop.next_batch_custom(text, text, text, interval, int4, interval, interval),
    pgq_coop.finish_batch(bigint),
    pgq_coop.version(),
    pgq_coop.skydeck_revision()
  FROM pgq_reader, pgq_writer, pgq_admin, public CASCADE;

-- consumers (pgq_admin gets them through its pgq_reader membership)
GRANT EXECUTE ON FUNCTION
    pgq_coop.register_subconsumer(text, text, text),
    pgq_coop.unregister_subconsumer(text, text, text, integer),
    pgq_coop.next_batch(text, text, text),
    pgq_coop.next_batch(text, text, text, interval),
    pgq_coop.next_batch_custom(text, text, text, interval, int4, interval),
    pgq_coop.next_batch_custom(text, text, text, interval, int4, interval, interval),
    pgq_coop.finish_batch(bigint)
  TO pgq_reader;

GRANT EXECUTE ON FUNCTION
    pgq_coop.version(),
    pgq_coop.skydeck_revision()
  TO public;
