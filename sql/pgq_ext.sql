-- skydeck: target-side batch and event tracking (schema pgq_ext) in PL/pgSQL.
--
-- A drop-in replacement for pgq_ext 3.3: the same tables (names, columns,
-- keys), function signatures, parameter names, return values and grants, so
-- RemoteConsumer, SerialConsumer and friends work against it unchanged.
--
-- pgq_ext lives in the database where events are *applied*, which need not
-- hold a queue: a consumer records there, in the same transaction as its
-- work, which batch (or tick, or event) it has applied, and skips what is
-- already recorded after a crash.  So this schema needs nothing from pgq but
-- the pgq_writer role, and creates that role itself when it is missing.
--
-- The revision marker below and pgq_ext.skydeck_revision() are bumped
-- together whenever this file changes in a way installed databases must
-- receive.
-- skydeck-revision: 1
--
-- This file is one idempotent install-and-upgrade script: it can be fed to
-- `psql -f` or run by `skydeck install` inside a single transaction with the
-- simple query protocol, so it has no psql meta-commands and no transaction
-- control.  Re-running it keeps the recorded progress, brings tables made by
-- older pgq_ext versions up to date and replaces function bodies and grants.

DO $install_guard$
DECLARE
    v_rev int4;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgq_ext') THEN
        RAISE EXCEPTION 'skydeck: the extension pgq_ext is installed in this database; skydeck''s pgq_ext is its plain-SQL replacement and is not installed over it'
            USING HINT = 'Stop the consumers writing here, save the pgq_ext tables, DROP EXTENSION pgq_ext, install again and restore the saved rows.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'pgq_ext' AND p.proname = 'skydeck_revision'
                  AND p.pronargs = 0)
    THEN
        EXECUTE 'SELECT pgq_ext.skydeck_revision()' INTO v_rev;
        IF v_rev > 1 THEN
            RAISE EXCEPTION 'skydeck: pgq_ext revision % is installed, newer than revision 1 carried by this script; downgrades are not supported', v_rev;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgq_ext') THEN
        CREATE SCHEMA pgq_ext;
    END IF;
END
$install_guard$;

-- Which revision of this file the database carries (the installer compares it
-- with the one embedded in the binary).
CREATE OR REPLACE FUNCTION pgq_ext.skydeck_revision()
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT 1 $$;

-- The functions are granted to pgq_writer.  A target database may have no
-- pgq at all, so the role may be missing; roles are cluster-wide, and
-- installs into other databases may race to create it.
DO $roles$
BEGIN
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_writer') THEN
            CREATE ROLE pgq_writer;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
END
$roles$;


-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

-- Every table is keyed by (consumer_id, subconsumer_id); subconsumer_id is ''
-- for a consumer without subconsumers, which is what the short forms of the
-- functions use.  Names of tables, columns and constraints are the
-- original's: consumers' operators query these tables directly.
DO $structure$
BEGIN
    IF pg_catalog.to_regclass('pgq_ext.completed_tick') IS NULL THEN
        -- last tick applied, for consumers that track ticks (SerialConsumer)
        CREATE TABLE pgq_ext.completed_tick (
            consumer_id     text    NOT NULL,
            subconsumer_id  text    NOT NULL DEFAULT '',
            last_tick_id    bigint  NOT NULL,
            CONSTRAINT completed_tick_pkey PRIMARY KEY (consumer_id, subconsumer_id)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq_ext.completed_batch') IS NULL THEN
        -- last batch applied; batches come in order, so one id is enough
        CREATE TABLE pgq_ext.completed_batch (
            consumer_id     text    NOT NULL,
            subconsumer_id  text    NOT NULL DEFAULT '',
            last_batch_id   bigint  NOT NULL,
            CONSTRAINT completed_batch_pkey PRIMARY KEY (consumer_id, subconsumer_id)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq_ext.completed_event') IS NULL THEN
        -- events applied from the batch in progress
        CREATE TABLE pgq_ext.completed_event (
            consumer_id     text    NOT NULL,
            subconsumer_id  text    NOT NULL DEFAULT '',
            batch_id        bigint  NOT NULL,
            event_id        bigint  NOT NULL,
            CONSTRAINT completed_event_pkey PRIMARY KEY (consumer_id, subconsumer_id, batch_id, event_id)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq_ext.partial_batch') IS NULL THEN
        -- the batch completed_event rows currently belong to
        CREATE TABLE pgq_ext.partial_batch (
            consumer_id     text    NOT NULL,
            subconsumer_id  text    NOT NULL DEFAULT '',
            cur_batch_id    bigint  NOT NULL,
            CONSTRAINT partial_batch_pkey PRIMARY KEY (consumer_id, subconsumer_id)
        );
    END IF;
END
$structure$;


-- ---------------------------------------------------------------------------
-- Schema upgrade
-- ---------------------------------------------------------------------------

-- Bring tables made by pgq_ext 3.1 and older (keyed by consumer_id alone) up
-- to the current layout: add subconsumer_id (existing rows get ''), make it
-- part of the primary key, and give it its default.  Returns the number of
-- changes made: one per table that got the column, one per column that got
-- its default; 0 when everything is current.  The install runs it too.
--
-- Catalog lookups go through pg_catalog rather than information_schema, which
-- hides columns the caller has no privilege on and would make a current
-- schema look old to a pgq_writer caller.
CREATE OR REPLACE FUNCTION pgq_ext.upgrade_schema()
RETURNS int4
LANGUAGE plpgsql
AS $$
DECLARE
    v_cnt int4 := 0;
    v_tbl text;
    v_keys text;
    v_rel regclass;
    v_pkey name;
BEGIN
    FOR v_tbl, v_keys IN
        VALUES ('completed_batch', 'consumer_id, subconsumer_id'),
               ('completed_tick', 'consumer_id, subconsumer_id'),
               ('partial_batch', 'consumer_id, subconsumer_id'),
               ('completed_event', 'consumer_id, subconsumer_id, batch_id, event_id')
    LOOP
        -- a missing table is an error, as it was in the original
        v_rel := ('pgq_ext.' || v_tbl)::regclass;
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                        WHERE attrelid = v_rel AND attname = 'subconsumer_id'
                          AND attnum > 0 AND NOT attisdropped) THEN
            EXECUTE 'ALTER TABLE pgq_ext.' || v_tbl || ' ADD COLUMN subconsumer_id text';
            EXECUTE 'UPDATE pgq_ext.' || v_tbl || ' SET subconsumer_id = ''''';
            EXECUTE 'ALTER TABLE pgq_ext.' || v_tbl || ' ALTER COLUMN subconsumer_id SET NOT NULL';
            -- old installs may have named their key differently
            FOR v_pkey IN
                SELECT conname FROM pg_catalog.pg_constraint
                 WHERE conrelid = v_rel AND contype = 'p'
            LOOP
                EXECUTE 'ALTER TABLE pgq_ext.' || v_tbl
                    || ' DROP CONSTRAINT ' || pg_catalog.quote_ident(v_pkey);
            END LOOP;
            EXECUTE 'ALTER TABLE pgq_ext.' || v_tbl || ' ADD CONSTRAINT '
                || v_tbl || '_pkey PRIMARY KEY (' || v_keys || ')';
            v_cnt := v_cnt + 1;
        END IF;
    END LOOP;

    -- the defaults are what let old clients insert without naming the column
    FOR v_tbl IN
        SELECT c.relname
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
         WHERE n.nspname = 'pgq_ext'
           AND c.relname IN ('completed_tick', 'completed_event', 'partial_batch', 'completed_batch')
           AND a.attname = 'subconsumer_id'
           AND NOT a.attisdropped
           AND NOT a.atthasdef
         ORDER BY c.relname
    LOOP
        EXECUTE 'ALTER TABLE pgq_ext.' || v_tbl || ' ALTER COLUMN subconsumer_id SET DEFAULT ''''';
        v_cnt := v_cnt + 1;
    END LOOP;

    RETURN v_cnt;
END;
$$;

DO $upgrade$
BEGIN
    PERFORM pgq_ext.upgrade_schema();
END
$upgrade$;


-- ---------------------------------------------------------------------------
-- Tracking by batch id (RemoteConsumer)
-- ---------------------------------------------------------------------------

-- Whether batch a_batch_id is the last one recorded as applied.  NULL when a
-- row exists but a_batch_id is NULL (a comparison with NULL), as before.
CREATE OR REPLACE FUNCTION pgq_ext.is_batch_done(
    a_consumer text,
    a_subconsumer text,
    a_batch_id bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_ext, pg_temp
AS $$
DECLARE
    v_done boolean;
BEGIN
    SELECT last_batch_id = a_batch_id INTO v_done
      FROM pgq_ext.completed_batch
     WHERE consumer_id = a_consumer
       AND subconsumer_id = a_subconsumer;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    RETURN v_done;
END;
$$;

CREATE OR REPLACE FUNCTION pgq_ext.is_batch_done(
    a_consumer text,
    a_batch_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_ext.is_batch_done(a_consumer, '', a_batch_id);
END;
$$;

-- Record batch a_batch_id as applied.  false = it was recorded already (the
-- caller should skip the batch), true otherwise.  Ids <= 0 (and NULL) are
-- accepted but not stored.
CREATE OR REPLACE FUNCTION pgq_ext.set_batch_done(
    a_consumer text,
    a_subconsumer text,
    a_batch_id bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_ext, pg_temp
AS $$
BEGIN
    IF pgq_ext.is_batch_done(a_consumer, a_subconsumer, a_batch_id) THEN
        RETURN false;
    END IF;
    IF a_batch_id > 0 THEN
        UPDATE pgq_ext.completed_batch
           SET last_batch_id = a_batch_id
         WHERE consumer_id = a_consumer
           AND subconsumer_id = a_subconsumer;
        IF NOT FOUND THEN
            INSERT INTO pgq_ext.completed_batch (consumer_id, subconsumer_id, last_batch_id)
            VALUES (a_consumer, a_subconsumer, a_batch_id);
        END IF;
    END IF;
    RETURN true;
END;
$$;

CREATE OR REPLACE FUNCTION pgq_ext.set_batch_done(
    a_consumer text,
    a_batch_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_ext.set_batch_done(a_consumer, '', a_batch_id);
END;
$$;


-- ---------------------------------------------------------------------------
-- Tracking by tick id (SerialConsumer)
-- ---------------------------------------------------------------------------

-- The last tick recorded as applied, NULL when none.
CREATE OR REPLACE FUNCTION pgq_ext.get_last_tick(a_consumer text, a_subconsumer text)
RETURNS int8
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_ext, pg_temp
AS $$
DECLARE
    v_tick int8;
BEGIN
    SELECT last_tick_id INTO v_tick
      FROM pgq_ext.completed_tick
     WHERE consumer_id = a_consumer
       AND subconsumer_id = a_subconsumer;
    RETURN v_tick;
END;
$$;

CREATE OR REPLACE FUNCTION pgq_ext.get_last_tick(a_consumer text)
RETURNS int8
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_ext.get_last_tick(a_consumer, '');
END;
$$;

-- Record the last applied tick; NULL forgets it (the consumer starts over
-- from wherever its queue registration is).  Always 1.
CREATE OR REPLACE FUNCTION pgq_ext.set_last_tick(
    a_consumer text,
    a_subconsumer text,
    a_tick_id bigint)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_ext, pg_temp
AS $$
BEGIN
    IF a_tick_id IS NULL THEN
        DELETE FROM pgq_ext.completed_tick
         WHERE consumer_id = a_consumer
           AND subconsumer_id = a_subconsumer;
    ELSE
        UPDATE pgq_ext.completed_tick
           SET last_tick_id = a_tick_id
         WHERE consumer_id = a_consumer
           AND subconsumer_id = a_subconsumer;
        IF NOT FOUND THEN
            INSERT INTO pgq_ext.completed_tick (consumer_id, subconsumer_id, last_tick_id)
            VALUES (a_consumer, a_subconsumer, a_tick_id);
        END IF;
    END IF;
    RETURN 1;
END;
$$;

CREATE OR REPLACE FUNCTION pgq_ext.set_last_tick(
    a_consumer text,
    a_tick_id bigint)
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_ext.set_last_tick(a_consumer, '', a_tick_id);
END;
$$;


-- ---------------------------------------------------------------------------
-- Tracking single events
-- ---------------------------------------------------------------------------
--
-- Only the events of the batch in progress are kept: a consumer moves to a
-- new batch only after the old one was finished in the queue database, so the
-- old batch's events can no longer come back.  Retry events break that
-- assumption (an event may return in a later batch), so event tracking does
-- not mix with event_retry.

-- Whether the event was recorded as applied within that batch.
CREATE OR REPLACE FUNCTION pgq_ext.is_event_done(
    a_consumer text,
    a_subconsumer text,
    a_batch_id bigint,
    a_event_id bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_ext, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM pgq_ext.completed_event
                    WHERE consumer_id = a_consumer
                      AND subconsumer_id = a_subconsumer
                      AND batch_id = a_batch_id
                      AND event_id = a_event_id);
END;
$$;

CREATE OR REPLACE FUNCTION pgq_ext.is_event_done(
    a_consumer text,
    a_batch_id bigint,
    a_event_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_ext.is_event_done(a_consumer, '', a_batch_id, a_event_id);
END;
$$;

-- Record an event as applied.  false = it was recorded already.  The first
-- event of a new batch forgets the previous batch's events.
CREATE OR REPLACE FUNCTION pgq_ext.set_event_done(
    a_consumer text,
    a_subconsumer text,
    a_batch_id bigint,
    a_event_id bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq_ext, pg_temp
AS $$
DECLARE
    v_old_batch bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM pgq_ext.completed_event
                WHERE consumer_id = a_consumer
                  AND subconsumer_id = a_subconsumer
                  AND batch_id = a_batch_id
                  AND event_id = a_event_id) THEN
        RETURN false;
    END IF;

    SELECT cur_batch_id INTO v_old_batch
      FROM pgq_ext.partial_batch
     WHERE consumer_id = a_consumer
       AND subconsumer_id = a_subconsumer;
    IF NOT FOUND THEN
        INSERT INTO pgq_ext.partial_batch (consumer_id, subconsumer_id, cur_batch_id)
        VALUES (a_consumer, a_subconsumer, a_batch_id);
    ELSIF v_old_batch <> a_batch_id THEN
        DELETE FROM pgq_ext.completed_event
         WHERE consumer_id = a_consumer
           AND subconsumer_id = a_subconsumer
           AND batch_id = v_old_batch;
        UPDATE pgq_ext.partial_batch
           SET cur_batch_id = a_batch_id
         WHERE consumer_id = a_consumer
           AND subconsumer_id = a_subconsumer;
    END IF;

    INSERT INTO pgq_ext.completed_event (consumer_id, subconsumer_id, batch_id, event_id)
    VALUES (a_consumer, a_subconsumer, a_batch_id, a_event_id);
    RETURN true;
END;
$$;

CREATE OR REPLACE FUNCTION pgq_ext.set_event_done(
    a_consumer text,
    a_batch_id bigint,
    a_event_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN pgq_ext.set_event_done(a_consumer, '', a_batch_id, a_event_id);
END;
$$;


-- ---------------------------------------------------------------------------
-- Version
-- ---------------------------------------------------------------------------

-- The API version implemented.  The original reports its extension version;
-- without an extension that would be NULL, which tells a client nothing.
CREATE OR REPLACE FUNCTION pgq_ext.version()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN '3.3';
END;
$$;


-- ---------------------------------------------------------------------------
-- Privileges (the original's grants.ini, re-applied on every run)
-- ---------------------------------------------------------------------------
--
-- The functions are for whoever applies events here, i.e. pgq_writer; the
-- tables get no grants of their own: the functions that change them run as
-- their owner.

GRANT USAGE ON SCHEMA pgq_ext TO public;

REVOKE ALL ON FUNCTION
    pgq_ext.upgrade_schema(),
    pgq_ext.is_batch_done(text, text, bigint),
    pgq_ext.is_batch_done(text, bigint),
    pgq_ext.set_batch_done(text, text, bigint),
    pgq_ext.set_batch_done(text, bigint),
    pgq_ext.is_event_done(text, text, bigint, bigint),
    pgq_ext.is_event_done(text, bigint, bigint),
    pgq_ext.set_event_done(text, text, bigint, bigint),
    pgq_ext.set_event_done(text, bigint, bigint),
    pgq_ext.get_last_tick(text, text),
    pgq_ext.get_last_tick(text),
    pgq_ext.set_last_tick(text, text, bigint),
    pgq_ext.set_last_tick(text, bigint),
    pgq_ext.version(),
    pgq_ext.skydeck_revision()
  FROM pgq_writer, public CASCADE;

GRANT EXECUTE ON FUNCTION
    pgq_ext.upgrade_schema(),
    pgq_ext.is_batch_done(text, text, bigint),
    pgq_ext.is_batch_done(text, bigint),
    pgq_ext.set_batch_done(text, text, bigint),
    pgq_ext.set_batch_done(text, bigint),
    pgq_ext.is_event_done(text, text, bigint, bigint),
    pgq_ext.is_event_done(text, bigint, bigint),
    pgq_ext.set_event_done(text, text, bigint, bigint),
    pgq_ext.set_event_done(text, bigint, bigint),
    pgq_ext.get_last_tick(text, text),
    pgq_ext.get_last_tick(text),
    pgq_ext.set_last_tick(text, text, bigint),
    pgq_ext.set_last_tick(text, bigint)
  TO pgq_writer;

GRANT EXECUTE ON FUNCTION
    pgq_ext.version(),
    pgq_ext.skydeck_revision()
  TO public;
