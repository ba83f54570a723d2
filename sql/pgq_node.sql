-- skydeck: cascaded queues (schema pgq_node) in plain SQL and PL/pgSQL.
--
-- A drop-in replacement for the extension pgq_node 3.5: the same tables,
-- function signatures, result columns, return codes and notes, cascade events
-- and grants, so Skytools 3 cascade tools (setadm, londiste, python-pgq's
-- CascadedWorker) and existing Londiste installations work against it
-- unchanged.  It sits on top of schema pgq (sql/pgq.sql) and uses only pgq's
-- public tables and functions, so it behaves the same over the original pgq.
--
-- The revision marker below and pgq_node.skydeck_revision() are bumped
-- together whenever this file changes in a way installed databases must
-- receive.
-- skydeck-revision: 1
--
-- This file is one idempotent install-and-upgrade script: it can be fed to
-- `psql -f` or run by `skydeck install` inside a single transaction with the
-- simple query protocol.  It uses no psql meta-commands, no transaction
-- control and nothing that cannot run inside a transaction.  Re-running it on
-- a current database changes nothing but function bodies and grants.
--
-- Return-code conventions (callers act on the class, log the note):
-- 1xx informational, 2xx done, 3xx nothing to do / warning, 4xx-5xx refused.
-- Where the original's notes carry typos or odd wording they are kept: tools
-- and people grep logs for them.

DO $install_guard$
DECLARE
    v_rev int4;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgq_node') THEN
        RAISE EXCEPTION 'skydeck: the extension pgq_node is installed in this database; skydeck''s pgq_node is its plain-SQL replacement and is not installed over it'
            USING HINT = 'Stop the cascade workers, DROP EXTENSION pgq_node CASCADE (this forgets the node setup), then install again.';
    END IF;
    IF pg_catalog.to_regprocedure('pgq.register_consumer_at(text,text,bigint)') IS NULL THEN
        RAISE EXCEPTION 'skydeck: pgq_node needs schema pgq; install pgq first';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'pgq_node' AND p.proname = 'skydeck_revision'
                  AND p.pronargs = 0)
    THEN
        EXECUTE 'SELECT pgq_node.skydeck_revision()' INTO v_rev;
        IF v_rev > 1 THEN
            RAISE EXCEPTION 'skydeck: pgq_node revision % is installed, newer than revision 1 carried by this script; downgrades are not supported', v_rev;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgq_node') THEN
        CREATE SCHEMA pgq_node;
    END IF;
END
$install_guard$;

CREATE OR REPLACE FUNCTION pgq_node.skydeck_revision()
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT 1 $$;


-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
--
-- Names of tables, columns and constraints are the original's: londiste's SQL
-- reads these tables directly, and constraint violations surface to callers
-- by name (create_node with a bad node type fails on node_info's checks).
--
-- node_location    every member of the cascade with its connect string; the
--                  root broadcasts changes as pgq.location-info events
-- node_info        this database's own node for a cascaded queue
-- local_state      position of every cascaded consumer (the node's worker and
--                  plain consumers) that writes into this database
-- subscriber_info  nodes that read from this one; the pgq consumers they use
--                  here must exist, hence the foreign keys into pgq.consumer

DO $structure$
BEGIN
    IF pg_catalog.to_regclass('pgq_node.node_location') IS NULL THEN
        CREATE TABLE pgq_node.node_location (
            queue_name      text        NOT NULL,
            node_name       text        NOT NULL,
            node_location   text        NOT NULL,
            dead            boolean     NOT NULL DEFAULT false,
            CONSTRAINT node_location_pkey PRIMARY KEY (queue_name, node_name)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq_node.node_info') IS NULL THEN
        CREATE TABLE pgq_node.node_info (
            queue_name      text        NOT NULL,
            node_type       text        NOT NULL,
            node_name       text        NOT NULL,
            worker_name     text,
            combined_queue  text,
            node_attrs      text,
            CONSTRAINT node_info_pkey PRIMARY KEY (queue_name),
            CONSTRAINT node_info_queue_name_node_name_fkey FOREIGN KEY (queue_name, node_name)
                REFERENCES pgq_node.node_location (queue_name, node_name),
            CONSTRAINT node_info_node_type_check
                CHECK (node_type IN ('root', 'branch', 'leaf')),
            -- only a leaf may feed a combined queue; every node has a worker
            CONSTRAINT node_info_check
                CHECK (CASE WHEN node_type = 'root'   THEN (worker_name IS NOT NULL AND combined_queue IS NULL)
                            WHEN node_type = 'branch' THEN (worker_name IS NOT NULL AND combined_queue IS NULL)
                            WHEN node_type = 'leaf'   THEN (worker_name IS NOT NULL)
                            ELSE false END)
        );
    END IF;
    -- installs older than pgq_node 3.2.5 lack the attribute column
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'pgq_node.node_info'::regclass
                      AND attname = 'node_attrs' AND NOT attisdropped) THEN
        ALTER TABLE pgq_node.node_info ADD COLUMN node_attrs text;
    END IF;

    IF pg_catalog.to_regclass('pgq_node.local_state') IS NULL THEN
        CREATE TABLE pgq_node.local_state (
            queue_name      text        NOT NULL,
            consumer_name   text        NOT NULL,
            provider_node   text        NOT NULL,
            last_tick_id    bigint      NOT NULL,
            cur_error       text,
            paused          boolean     NOT NULL DEFAULT false,
            uptodate        boolean     NOT NULL DEFAULT false,
            CONSTRAINT local_state_pkey PRIMARY KEY (queue_name, consumer_name),
            CONSTRAINT local_state_queue_name_fkey FOREIGN KEY (queue_name)
                REFERENCES pgq_node.node_info (queue_name),
            CONSTRAINT local_state_queue_name_provider_node_fkey FOREIGN KEY (queue_name, provider_node)
                REFERENCES pgq_node.node_location (queue_name, node_name)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq_node.subscriber_info') IS NULL THEN
        CREATE TABLE pgq_node.subscriber_info (
            queue_name          text    NOT NULL,
            subscriber_node     text    NOT NULL,
            worker_name         text    NOT NULL,
            watermark_name      text    NOT NULL,
            CONSTRAINT subscriber_info_pkey PRIMARY KEY (queue_name, subscriber_node),
            CONSTRAINT subscriber_info_queue_name_fkey FOREIGN KEY (queue_name)
                REFERENCES pgq_node.node_info (queue_name),
            CONSTRAINT subscriber_info_queue_name_subscriber_node_fkey FOREIGN KEY (queue_name, subscriber_node)
                REFERENCES pgq_node.node_location (queue_name, node_name),
            CONSTRAINT subscriber_info_worker_name_fkey FOREIGN KEY (worker_name)
                REFERENCES pgq.consumer (co_name),
            CONSTRAINT subscriber_info_watermark_name_fkey FOREIGN KEY (watermark_name)
                REFERENCES pgq.consumer (co_name)
        );
    END IF;
END
$structure$;

-- A schema left by an older pgq_node may hold functions whose result columns
-- have changed since (get_node_info grew several); CREATE OR REPLACE cannot
-- change those, so such functions are dropped first.  Current ones are left
-- alone, keeping their oids and grants.
DO $old_signatures$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn
          FROM (VALUES
            ('pgq_node.change_consumer_provider(text,text,text)', 'i_queue_name text, i_consumer_name text, i_new_provider text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.create_node(text,text,text,text,text,bigint,text)', 'i_queue_name text, i_node_type text, i_node_name text, i_worker_name text, i_provider_name text, i_global_watermark bigint, i_combined_queue text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.demote_root(text,integer,text)', 'i_queue_name text, i_step integer, i_new_provider text, OUT ret_code integer, OUT ret_note text, OUT last_tick bigint'),
            ('pgq_node.drop_node(text,text)', 'i_queue_name text, i_node_name text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.get_consumer_info(text)', 'i_queue_name text, OUT consumer_name text, OUT provider_node text, OUT last_tick_id bigint, OUT paused boolean, OUT uptodate boolean, OUT cur_error text'),
            ('pgq_node.get_consumer_state(text,text)', 'i_queue_name text, i_consumer_name text, OUT ret_code integer, OUT ret_note text, OUT node_type text, OUT node_name text, OUT completed_tick bigint, OUT provider_node text, OUT provider_location text, OUT paused boolean, OUT uptodate boolean, OUT cur_error text'),
            ('pgq_node.get_node_info(text)', 'i_queue_name text, OUT ret_code integer, OUT ret_note text, OUT node_type text, OUT node_name text, OUT global_watermark bigint, OUT local_watermark bigint, OUT provider_node text, OUT provider_location text, OUT combined_queue text, OUT combined_type text, OUT worker_name text, OUT worker_paused boolean, OUT worker_uptodate boolean, OUT worker_last_tick bigint, OUT node_attrs text, OUT target_for text[]'),
            ('pgq_node.get_queue_locations(text)', 'i_queue_name text, OUT node_name text, OUT node_location text, OUT dead boolean'),
            ('pgq_node.get_subscriber_info(text)', 'i_queue_name text, OUT node_name text, OUT worker_name text, OUT node_watermark bigint'),
            ('pgq_node.get_worker_state(text)', 'i_queue_name text, OUT ret_code integer, OUT ret_note text, OUT node_type text, OUT node_name text, OUT completed_tick bigint, OUT provider_node text, OUT provider_location text, OUT paused boolean, OUT uptodate boolean, OUT cur_error text, OUT worker_name text, OUT global_watermark bigint, OUT local_watermark bigint, OUT local_queue_top bigint, OUT combined_queue text, OUT combined_type text'),
            ('pgq_node.promote_branch(text)', 'i_queue_name text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.register_consumer(text,text,text,bigint)', 'i_queue_name text, i_consumer_name text, i_provider_node text, i_custom_tick_id bigint, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.register_location(text,text,text,boolean)', 'i_queue_name text, i_node_name text, i_node_location text, i_dead boolean, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.register_subscriber(text,text,text,bigint)', 'i_queue_name text, i_remote_node_name text, i_remote_worker_name text, i_custom_tick_id bigint, OUT ret_code integer, OUT ret_note text, OUT global_watermark bigint'),
            ('pgq_node.set_consumer_completed(text,text,bigint)', 'i_queue_name text, i_consumer_name text, i_tick_id bigint, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_consumer_error(text,text,text)', 'i_queue_name text, i_consumer_name text, i_error_msg text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_consumer_paused(text,text,boolean)', 'i_queue_name text, i_consumer_name text, i_paused boolean, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_consumer_uptodate(text,text,boolean)', 'i_queue_name text, i_consumer_name text, i_uptodate boolean, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_global_watermark(text,bigint)', 'i_queue_name text, i_watermark bigint, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_node_attrs(text,text)', 'i_queue_name text, i_node_attrs text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_partition_watermark(text,text,bigint)', 'i_combined_queue_name text, i_part_queue_name text, i_watermark bigint, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.set_subscriber_watermark(text,text,bigint)', 'i_queue_name text, i_node_name text, i_watermark bigint, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.unregister_consumer(text,text)', 'i_queue_name text, i_consumer_name text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.unregister_location(text,text)', 'i_queue_name text, i_node_name text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.unregister_subscriber(text,text)', 'i_queue_name text, i_remote_node_name text, OUT ret_code integer, OUT ret_note text'),
            ('pgq_node.is_root_node(text)', 'i_queue_name text'),
            ('pgq_node.is_leaf_node(text)', 'i_queue_name text'),
            ('pgq_node.maint_watermark(text)', 'i_queue_name text')
          ) AS want(sig, args)
          JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(want.sig)
         WHERE pg_catalog.pg_get_function_arguments(p.oid) <> want.args
    LOOP
        EXECUTE 'DROP FUNCTION ' || r.fn::text;
    END LOOP;
END
$old_signatures$;


-- ---------------------------------------------------------------------------
-- Schema upkeep
-- ---------------------------------------------------------------------------

-- Structure fixes for databases set up by older versions; returns how many
-- were made.  The install script does the same work, this stays callable
-- because old tooling calls it.
CREATE OR REPLACE FUNCTION pgq_node.upgrade_schema()
RETURNS int4
LANGUAGE plpgsql
AS $$
DECLARE
    v_fixes int4 := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'pgq_node.node_info'::regclass
                      AND attname = 'node_attrs' AND NOT attisdropped) THEN
        ALTER TABLE pgq_node.node_info ADD COLUMN node_attrs text;
        v_fixes := v_fixes + 1;
    END IF;
    RETURN v_fixes;
END;
$$;

-- The API level implemented: the original answers with its extension
-- version, and tools compare against that.
CREATE OR REPLACE FUNCTION pgq_node.version()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN '3.5';
END;
$$;


-- ---------------------------------------------------------------------------
-- Member list
-- ---------------------------------------------------------------------------

-- Add or update a member.  A NULL location keeps the known one (that is how a
-- node is tagged dead without knowing its address) and cannot create a member.
-- On the root every call is broadcast as pgq.location-info, even one that
-- changed nothing: workers downstream apply it with this same function.
CREATE OR REPLACE FUNCTION pgq_node.register_location(
    in i_queue_name text,
    in i_node_name text,
    in i_node_location text,
    in i_dead boolean,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_is_root boolean;
BEGIN
    -- the node row lock orders this against demote/promote changing the type
    SELECT n.node_type = 'root' INTO v_is_root
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;

    UPDATE pgq_node.node_location l
       SET node_location = coalesce(i_node_location, l.node_location),
           dead = i_dead
     WHERE l.queue_name = i_queue_name
       AND l.node_name = i_node_name;
    IF NOT FOUND AND i_node_location IS NOT NULL THEN
        -- two admins registering the same node at once must not fail
        INSERT INTO pgq_node.node_location (queue_name, node_name, node_location, dead)
        VALUES (i_queue_name, i_node_name, i_node_location, i_dead)
        ON CONFLICT (queue_name, node_name) DO UPDATE
           SET node_location = EXCLUDED.node_location,
               dead = EXCLUDED.dead;
    END IF;

    IF v_is_root THEN
        PERFORM pgq.insert_event(i_queue_name, 'pgq.location-info', i_node_name,
                                 i_queue_name, i_node_location, i_dead::text, NULL);
    END IF;

    ret_code := 200;
    ret_note := 'Location registered';
    RETURN;
END;
$$;

-- Forget a member.  The node's own location and its provider's are refused
-- (403): the worker needs them.  A leftover subscription of that node is
-- dropped silently.  On the root the removal is broadcast, also when the
-- member was not known here, so that stragglers downstream get cleaned.
CREATE OR REPLACE FUNCTION pgq_node.unregister_location(
    in i_queue_name text,
    in i_node_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text;
    v_self text;
    v_provider text;
BEGIN
    SELECT n.node_type, n.node_name, s.provider_node
      INTO v_type, v_self, v_provider
      FROM pgq_node.node_info n
      LEFT JOIN pgq_node.local_state s
             ON s.queue_name = n.queue_name
            AND s.consumer_name = n.worker_name
     WHERE n.queue_name = i_queue_name;
    IF v_self = i_node_name THEN
        ret_code := 403;
        ret_note := 'Cannot drop node''s own location';
        RETURN;
    END IF;
    IF v_provider = i_node_name THEN
        ret_code := 403;
        ret_note := 'Cannot drop location of node''s parent';
        RETURN;
    END IF;

    PERFORM pgq_node.unregister_subscriber(i_queue_name, i_node_name);

    DELETE FROM pgq_node.node_location
     WHERE queue_name = i_queue_name
       AND node_name = i_node_name;
    IF FOUND THEN
        ret_code := 200;
        ret_note := 'Ok';
    ELSE
        ret_code := 301;
        ret_note := 'Location not found: ' || i_queue_name || '/' || i_node_name;
    END IF;

    IF v_type = 'root' THEN
        PERFORM pgq.insert_event(i_queue_name, 'pgq.unregister-location', i_node_name,
                                 i_queue_name, NULL, NULL, NULL);
    END IF;
    RETURN;
END;
$$;

-- The member list, by node name.
CREATE OR REPLACE FUNCTION pgq_node.get_queue_locations(
    in i_queue_name text,
    out node_name text,
    out node_location text,
    out dead boolean)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT l.node_name, l.node_location, l.dead
      FROM pgq_node.node_location l
     WHERE l.queue_name = i_queue_name
     ORDER BY l.node_name;
END;
$$;


-- ---------------------------------------------------------------------------
-- Node set-up and information
-- ---------------------------------------------------------------------------

-- Make this database a node of the cascade.  Its own location must have been
-- registered first (foreign keys).
--   root:   a normal queue; .global_watermark starts at its first tick; the
--           worker's provider is the node itself.
--   branch: a queue that only receives copies: ticks come from the provider
--           (external ticker) and local inserts are refused.  Tick ids must be
--           the cascade's, so the queue starts with a tick at the global
--           watermark the provider handed out, and .global_watermark and the
--           worker start there.
--   leaf:   no queue of its own; a merge leaf names the combined queue (which
--           must exist here) that its worker copies into.
-- A type other than these is not caught here: node_info's checks refuse it,
-- with the same error the original gives.
CREATE OR REPLACE FUNCTION pgq_node.create_node(
    in i_queue_name text,
    in i_node_type text,
    in i_node_name text,
    in i_worker_name text,
    in i_provider_name text,
    in i_global_watermark bigint,
    in i_combined_queue text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_wm_consumer constant text := '.global_watermark';
    v_global_wm bigint;
    v_rc int4;
    v_note text;
BEGIN
    IF EXISTS (SELECT 1 FROM pgq_node.node_info WHERE queue_name = i_queue_name) THEN
        ret_code := 401;
        ret_note := 'Node already initialized';
        RETURN;
    END IF;

    IF i_node_type = 'root' THEN
        IF i_provider_name IS NOT NULL OR i_global_watermark IS NOT NULL
           OR i_combined_queue IS NOT NULL THEN
            ret_code := 401;
            ret_note := 'unexpected args for ' || i_node_type;
            RETURN;
        END IF;
        PERFORM pgq.create_queue(i_queue_name);
        PERFORM pgq.register_consumer(i_queue_name, v_wm_consumer);
        SELECT s.sub_last_tick INTO v_global_wm
          FROM pgq.subscription s
          JOIN pgq.queue q ON q.queue_id = s.sub_queue
          JOIN pgq.consumer c ON c.co_id = s.sub_consumer
         WHERE q.queue_name = i_queue_name
           AND c.co_name = v_wm_consumer;
    ELSIF i_node_type = 'branch' THEN
        IF i_provider_name IS NULL THEN
            ret_code := 401;
            ret_note := 'provider not set for ' || i_node_type;
            RETURN;
        END IF;
        IF i_global_watermark IS NULL THEN
            ret_code := 401;
            ret_note := 'global watermark not set for ' || i_node_type;
            RETURN;
        END IF;
        PERFORM pgq.create_queue(i_queue_name);
        UPDATE pgq.queue
           SET queue_external_ticker = true,
               queue_disable_insert = true
         WHERE queue_name = i_queue_name;
        -- tick 1 already came with the queue
        IF i_global_watermark > 1 THEN
            PERFORM pgq.ticker(i_queue_name, i_global_watermark, pg_catalog.now(), 1);
        END IF;
        PERFORM pgq.register_consumer_at(i_queue_name, v_wm_consumer, i_global_watermark);
        v_global_wm := i_global_watermark;
    ELSIF i_node_type = 'leaf' THEN
        v_global_wm := i_global_watermark;
        IF i_combined_queue IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pgq.queue WHERE queue_name = i_combined_queue) THEN
            ret_code := 401;
            ret_note := 'non-existing queue on leaf side: ' || i_combined_queue;
            RETURN;
        END IF;
    END IF;

    INSERT INTO pgq_node.node_info (queue_name, node_type, node_name, worker_name, combined_queue)
    VALUES (i_queue_name, i_node_type, i_node_name, i_worker_name, i_combined_queue);

    SELECT f.ret_code, f.ret_note INTO v_rc, v_note
      FROM pgq_node.register_consumer(i_queue_name, i_worker_name,
                CASE WHEN i_node_type = 'root' THEN i_node_name ELSE i_provider_name END,
                v_global_wm) f;
    IF v_rc <> 200 THEN
        ret_code := v_rc;
        ret_note := v_note;
        RETURN;
    END IF;

    ret_code := 200;
    ret_note := 'Node "' || i_node_name || '" initialized for queue "' || i_queue_name
                || '" with type "' || i_node_type || '"';
    RETURN;
END;
$$;

-- Remove a node from this database's view of the cascade; the admin runs it
-- on every member.  For the local node everything goes: subscribers, consumer
-- states, the node row, the queue with its consumers, the member list.  It
-- also cleans up when node_info is already gone (a half-removed node), which
-- includes dropping a leftover pgq queue of that name.  The local node's
-- provider is refused (405); any other node is unsubscribed and forgotten.
CREATE OR REPLACE FUNCTION pgq_node.drop_node(
    in i_queue_name text,
    in i_node_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_is_local boolean;
    v_is_provider boolean;
BEGIN
    SELECT n.node_name = i_node_name,
           (SELECT s.provider_node = i_node_name
              FROM pgq_node.local_state s
             WHERE s.queue_name = n.queue_name
               AND s.consumer_name = n.worker_name)
      INTO v_is_local, v_is_provider
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        v_is_local := true;
        v_is_provider := false;
    END IF;

    IF v_is_local THEN
        DELETE FROM pgq_node.subscriber_info WHERE queue_name = i_queue_name;
        DELETE FROM pgq_node.local_state WHERE queue_name = i_queue_name;
        DELETE FROM pgq_node.node_info
         WHERE queue_name = i_queue_name
           AND node_name = i_node_name;
        IF EXISTS (SELECT 1 FROM pgq.queue WHERE queue_name = i_queue_name) THEN
            PERFORM pgq.drop_queue(i_queue_name, true);
        END IF;
        DELETE FROM pgq_node.node_location
         WHERE queue_name = i_queue_name
           AND node_name <> i_node_name;
    ELSIF v_is_provider THEN
        ret_code := 405;
        ret_note := 'Cannot drop provider node: ' || i_node_name;
        RETURN;
    ELSE
        PERFORM pgq_node.unregister_subscriber(i_queue_name, i_node_name);
    END IF;

    -- removes the member itself; on the root it also tells the cascade.  Its
    -- verdict does not matter: the node is gone from here either way.
    PERFORM pgq_node.unregister_location(i_queue_name, i_node_name);

    ret_code := 200;
    ret_note := 'Node dropped: ' || i_node_name;
    RETURN;
END;
$$;

-- Everything a worker or the admin needs to know about the local node.  An
-- unknown queue is a 404 row, not an error: tools probe with it.
--   local_watermark   root/branch: the lowest position of any consumer of the
--                     queue except .global_watermark (the queue top when there
--                     is none); leaf: the worker's position
--   global_watermark  root/branch: the position of .global_watermark
--   worker_last_tick  the worker's position; on the root the queue top, as the
--                     root's worker has nothing to consume
--   combined_*        the local node of the combined queue (NULL when that
--                     queue has no node here)
--   target_for        queues whose leaves merge into this one
CREATE OR REPLACE FUNCTION pgq_node.get_node_info(
    in i_queue_name text,
    out ret_code int4,
    out ret_note text,
    out node_type text,
    out node_name text,
    out global_watermark bigint,
    out local_watermark bigint,
    out provider_node text,
    out provider_location text,
    out combined_queue text,
    out combined_type text,
    out worker_name text,
    out worker_paused bool,
    out worker_uptodate bool,
    out worker_last_tick bigint,
    out node_attrs text,
    out target_for text[])
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_queue_id int4;
    v_top bigint;
BEGIN
    SELECT n.node_type, n.node_name, c.node_type, c.queue_name,
           w.provider_node, l.node_location,
           n.worker_name, w.paused, w.uptodate, w.last_tick_id, n.node_attrs
      INTO node_type, node_name, combined_type, combined_queue,
           provider_node, provider_location,
           worker_name, worker_paused, worker_uptodate, worker_last_tick, node_attrs
      FROM pgq_node.node_info n
      LEFT JOIN pgq_node.node_info c ON c.queue_name = n.combined_queue
      LEFT JOIN pgq_node.local_state w
             ON w.queue_name = n.queue_name AND w.consumer_name = n.worker_name
      LEFT JOIN pgq_node.node_location l
             ON l.queue_name = w.queue_name AND l.node_name = w.provider_node
     WHERE n.queue_name = i_queue_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown queue: ' || i_queue_name;
        RETURN;
    END IF;
    ret_code := 100;
    ret_note := 'Ok';

    IF node_type IN ('root', 'branch') THEN
        SELECT q.queue_id INTO v_queue_id FROM pgq.queue q WHERE q.queue_name = i_queue_name;
        SELECT t.tick_id INTO v_top
          FROM pgq.tick t
         WHERE t.tick_queue = v_queue_id
         ORDER BY t.tick_queue DESC, t.tick_id DESC
         LIMIT 1;
        SELECT min(s.sub_last_tick) FILTER (WHERE c.co_name <> '.global_watermark'),
               min(s.sub_last_tick) FILTER (WHERE c.co_name = '.global_watermark')
          INTO local_watermark, global_watermark
          FROM pgq.subscription s
          JOIN pgq.consumer c ON c.co_id = s.sub_consumer
         WHERE s.sub_queue = v_queue_id;
        local_watermark := coalesce(local_watermark, v_top);

        SELECT array_agg(x.queue_name ORDER BY x.queue_name) INTO target_for
          FROM pgq_node.node_info x
         WHERE x.combined_queue = i_queue_name;

        IF node_type = 'root' THEN
            worker_last_tick := v_top;
        END IF;
    ELSE
        local_watermark := worker_last_tick;
    END IF;
    RETURN;
END;
$$;

-- Whether the local node of a queue is the root / a leaf.  Not security
-- definer, as in the original: callers need to read node_info themselves.
CREATE OR REPLACE FUNCTION pgq_node.is_root_node(i_queue_name text)
RETURNS bool
LANGUAGE plpgsql
AS $$
DECLARE
    v_res bool;
BEGIN
    SELECT n.node_type = 'root' INTO v_res
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue does not exist: %', i_queue_name;
    END IF;
    RETURN v_res;
END;
$$;

CREATE OR REPLACE FUNCTION pgq_node.is_leaf_node(i_queue_name text)
RETURNS bool
LANGUAGE plpgsql
AS $$
DECLARE
    v_res bool;
BEGIN
    SELECT n.node_type = 'leaf' INTO v_res
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue does not exist: %', i_queue_name;
    END IF;
    RETURN v_res;
END;
$$;

-- Nodes reading from this one, with the position each last reported for its
-- subtree (its .<node>.watermark consumer; NULL if that is missing).  The
-- subscriber's own node info is the authority; this list can lag behind an
-- admin operation in progress.
CREATE OR REPLACE FUNCTION pgq_node.get_subscriber_info(
    in i_queue_name text,
    out node_name text,
    out worker_name text,
    out node_watermark int8)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT si.subscriber_node, si.worker_name,
           (SELECT s.sub_last_tick
              FROM pgq.subscription s
              JOIN pgq.queue q ON q.queue_id = s.sub_queue
              JOIN pgq.consumer c ON c.co_id = s.sub_consumer
             WHERE q.queue_name = i_queue_name
               AND c.co_name = si.watermark_name)
      FROM pgq_node.subscriber_info si
     WHERE si.queue_name = i_queue_name
     ORDER BY si.subscriber_node;
END;
$$;

-- Cascaded consumers writing into this node, by name.
CREATE OR REPLACE FUNCTION pgq_node.get_consumer_info(
    in i_queue_name text,
    out consumer_name text,
    out provider_node text,
    out last_tick_id int8,
    out paused boolean,
    out uptodate boolean,
    out cur_error text)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT s.consumer_name, s.provider_node, s.last_tick_id,
           s.paused, s.uptodate, s.cur_error
      FROM pgq_node.local_state s
     WHERE s.queue_name = i_queue_name
     ORDER BY s.consumer_name;
END;
$$;


-- ---------------------------------------------------------------------------
-- Switchover and failover
-- ---------------------------------------------------------------------------

-- Turn the root into a branch, in three steps, each its own transaction, run
-- by the admin during a takeover:
--   1  refuse new events and stop the internal ticker;
--   2  wait for producers still writing (lock on the event tables), then
--      close the queue with a final tick, returned as last_tick: the new root
--      must have applied up to it before it is promoted;
--   3  become a branch reading from the new provider, positioned at the
--      queue top (= the final tick).
-- Steps 2 and 3 need step 1's queue settings ('steps in wrong order');
-- repeating step 1 or 2 is harmless (2 adds another tick), a repeated step 3
-- finds no root (301).
CREATE OR REPLACE FUNCTION pgq_node.demote_root(
    in i_queue_name text,
    in i_step int4,
    in i_new_provider text,
    out ret_code int4,
    out ret_note text,
    out last_tick int8)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text;
    v_worker text;
    q record;
    v_ev_id int8;
    v_role text;
BEGIN
    -- serialises against promote_branch and other admin steps on this node
    SELECT n.node_type, n.worker_name INTO v_type, v_worker
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Node not initialized for queue: ' || i_queue_name;
        RETURN;
    END IF;
    IF v_type <> 'root' THEN
        ret_code := 301;
        ret_note := 'Node not root';
        RETURN;
    END IF;

    IF i_step > 1 THEN
        SELECT queue_id, queue_data_pfx, queue_tick_seq, queue_event_seq INTO q
          FROM pgq.queue
         WHERE queue_name = i_queue_name
           AND queue_disable_insert
           AND queue_external_ticker;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'steps in wrong order';
        END IF;
    END IF;

    IF i_step = 1 THEN
        UPDATE pgq.queue
           SET queue_disable_insert = true,
               queue_external_ticker = true
         WHERE queue_name = i_queue_name;
        IF NOT FOUND THEN
            ret_code := 404;
            ret_note := 'Huh, no queue?: ' || i_queue_name;
            RETURN;
        END IF;
        ret_code := 200;
        ret_note := 'Step 1: Writing disabled for: ' || i_queue_name;
    ELSIF i_step = 2 THEN
        -- Replica role as in the original, for the lock and the final tick
        -- only: the caller's transaction gets its own role back.  Nothing
        -- below depends on it (the original needed it for an older way of
        -- locking), so an owner not allowed to set it must not block a
        -- switchover.
        v_role := pg_catalog.current_setting('session_replication_role');
        BEGIN
            PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
        EXCEPTION WHEN insufficient_privilege THEN
            v_role := NULL;
        END;

        -- Producers that passed the insert check before step 1 committed may
        -- still be writing.  Locking the parent locks every data table (the
        -- current one may change under rotation); EXCLUSIVE lets readers on.
        EXECUTE 'LOCK TABLE ' || pgq.quote_fqname(q.queue_data_pfx) || ' IN EXCLUSIVE MODE';

        last_tick := pg_catalog.nextval(pgq.quote_fqname(q.queue_tick_seq)::regclass);
        v_ev_id := pg_catalog.nextval(pgq.quote_fqname(q.queue_event_seq)::regclass);
        PERFORM pgq.ticker(i_queue_name, last_tick, pg_catalog.now(), v_ev_id);

        IF v_role IS NOT NULL THEN
            PERFORM pg_catalog.set_config('session_replication_role', v_role, true);
        END IF;
        ret_code := 200;
        ret_note := 'Step 2: Inserted last tick: ' || i_queue_name;
    ELSIF i_step = 3 THEN
        SELECT t.tick_id INTO last_tick
          FROM pgq.tick t
         WHERE t.tick_queue = q.queue_id
         ORDER BY t.tick_queue DESC, t.tick_id DESC
         LIMIT 1;
        UPDATE pgq_node.node_info
           SET node_type = 'branch'
         WHERE queue_name = i_queue_name;
        UPDATE pgq_node.local_state
           SET provider_node = i_new_provider,
               last_tick_id = last_tick,
               uptodate = false
         WHERE queue_name = i_queue_name
           AND consumer_name = v_worker;
        ret_code := 200;
        ret_note := 'Step 3: Demoted root to branch: ' || i_queue_name;
    ELSE
        RAISE EXCEPTION 'incorrect step number';
    END IF;
    RETURN;
END;
$$;

-- Turn a branch into the root: its queue takes inserts and ticks itself from
-- the last copied tick on (the tick sequence must not hand out a copied id
-- again), and its worker becomes a root worker positioned at that tick.
CREATE OR REPLACE FUNCTION pgq_node.promote_branch(
    in i_queue_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name text;
    v_type text;
    v_worker text;
    v_last bigint;
    v_tick_seq text;
BEGIN
    SELECT n.node_name, n.node_type, n.worker_name INTO v_name, v_type, v_worker
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Node not initialized for queue: ' || i_queue_name;
        RETURN;
    END IF;
    IF v_type <> 'branch' THEN
        ret_code := 301;
        ret_note := 'Node not branch';
        RETURN;
    END IF;

    UPDATE pgq.queue
       SET queue_disable_insert = false,
           queue_external_ticker = false
     WHERE queue_name = i_queue_name
    RETURNING queue_tick_seq INTO v_tick_seq;

    SELECT t.tick_id INTO v_last
      FROM pgq.tick t
      JOIN pgq.queue q ON q.queue_id = t.tick_queue
     WHERE q.queue_name = i_queue_name
     ORDER BY t.tick_queue DESC, t.tick_id DESC
     LIMIT 1;

    IF v_tick_seq IS NOT NULL THEN
        PERFORM pgq.seq_setval(v_tick_seq, v_last);
    END IF;

    UPDATE pgq_node.node_info
       SET node_type = 'root'
     WHERE queue_name = i_queue_name;
    UPDATE pgq_node.local_state
       SET provider_node = v_name,
           last_tick_id = v_last,
           uptodate = false
     WHERE queue_name = i_queue_name
       AND consumer_name = v_worker;

    ret_code := 200;
    ret_note := 'Branch node promoted to root';
    RETURN;
END;
$$;

-- Free-form worker settings (urlencoded, e.g. sync_watermark=n1,n2).
CREATE OR REPLACE FUNCTION pgq_node.set_node_attrs(
    in i_queue_name text,
    in i_node_attrs text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE pgq_node.node_info
       SET node_attrs = i_node_attrs
     WHERE queue_name = i_queue_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Node not found';
        RETURN;
    END IF;
    ret_code := 200;
    ret_note := 'Node attributes updated';
    RETURN;
END;
$$;


-- ---------------------------------------------------------------------------
-- Provider side: the nodes reading from this one
-- ---------------------------------------------------------------------------

-- Let a node read from this one.  Two consumers are registered on the local
-- queue: .<node>.watermark at the global watermark, which holds back rotation
-- until the subscriber reports its subtree's progress, and the subscriber's
-- worker at the given tick (a provider change) or the global watermark.
-- Leaves have no queue to read from (401).  The global watermark is returned
-- for the new node's create_node.
CREATE OR REPLACE FUNCTION pgq_node.register_subscriber(
    in i_queue_name text,
    in i_remote_node_name text,
    in i_remote_worker_name text,
    in i_custom_tick_id int8,
    out ret_code int4,
    out ret_note text,
    out global_watermark bigint)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text;
    v_wm_name text;
BEGIN
    SELECT n.node_type INTO v_type
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown queue: ' || i_queue_name;
        RETURN;
    END IF;

    SELECT s.sub_last_tick INTO global_watermark
      FROM pgq.subscription s
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
      JOIN pgq.consumer c ON c.co_id = s.sub_consumer
     WHERE q.queue_name = i_queue_name
       AND c.co_name = '.global_watermark';

    IF v_type NOT IN ('root', 'branch') THEN
        ret_code := 401;
        ret_note := 'Cannot subscribe to ' || v_type || ' node';
        RETURN;
    END IF;

    v_wm_name := '.' || i_remote_node_name || '.watermark';
    PERFORM pgq.register_consumer_at(i_queue_name, v_wm_name, global_watermark);
    PERFORM pgq.register_consumer_at(i_queue_name, i_remote_worker_name,
                                     coalesce(i_custom_tick_id, global_watermark));

    INSERT INTO pgq_node.subscriber_info (queue_name, subscriber_node, worker_name, watermark_name)
    VALUES (i_queue_name, i_remote_node_name, i_remote_worker_name, v_wm_name);

    ret_code := 200;
    ret_note := 'Subscriber registered: ' || i_remote_node_name;
    RETURN;
END;
$$;

-- Stop serving a node: forget it and drop both of its consumers here.
CREATE OR REPLACE FUNCTION pgq_node.unregister_subscriber(
    in i_queue_name text,
    in i_remote_node_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_worker text;
BEGIN
    DELETE FROM pgq_node.subscriber_info s
     WHERE s.queue_name = i_queue_name
       AND s.subscriber_node = i_remote_node_name
    RETURNING s.worker_name INTO v_worker;
    IF NOT FOUND THEN
        ret_code := 304;
        ret_note := 'Subscriber not found';
        RETURN;
    END IF;

    PERFORM pgq.unregister_consumer(i_queue_name, '.' || i_remote_node_name || '.watermark');
    PERFORM pgq.unregister_consumer(i_queue_name, v_worker);

    ret_code := 200;
    ret_note := 'Subscriber unregistered: ' || i_remote_node_name;
    RETURN;
END;
$$;

-- A subscriber reports the lowest position in its subtree; its watermark
-- consumer here moves forward to it, never back (405).  The 404 note is the
-- original's, queue name left out.
CREATE OR REPLACE FUNCTION pgq_node.set_subscriber_watermark(
    in i_queue_name text,
    in i_node_name text,
    in i_watermark bigint,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_wm_name text := '.' || i_node_name || '.watermark';
    v_cur bigint;
BEGIN
    SELECT s.sub_last_tick INTO v_cur
      FROM pgq.subscription s
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
      JOIN pgq.consumer c ON c.co_id = s.sub_consumer
     WHERE q.queue_name = i_queue_name
       AND c.co_name = v_wm_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'node ' || i_node_name || ' not subscribed to queue ';
        RETURN;
    END IF;

    IF i_watermark < v_cur THEN
        ret_code := 405;
        ret_note := 'watermark must not be moved backwards';
        RETURN;
    ELSIF i_watermark = v_cur THEN
        ret_code := 100;
        ret_note := 'watermark already set';
        RETURN;
    END IF;

    PERFORM pgq.register_consumer_at(i_queue_name, v_wm_name, i_watermark);

    ret_code := 200;
    ret_note := v_wm_name || ' set to ' || i_watermark::text;
    RETURN;
END;
$$;


-- ---------------------------------------------------------------------------
-- Subscriber side: the node's worker
-- ---------------------------------------------------------------------------

-- The worker's view of its node: get_consumer_state for the worker plus the
-- queue's watermarks and top.  404 when the node, the worker's state, its
-- provider's location or the combined queue's node is missing here (the
-- 'Combinde' typo is the original's).
CREATE OR REPLACE FUNCTION pgq_node.get_worker_state(
    in i_queue_name text,
    out ret_code int4,
    out ret_note text,
    out node_type text,
    out node_name text,
    out completed_tick bigint,
    out provider_node text,
    out provider_location text,
    out paused boolean,
    out uptodate boolean,
    out cur_error text,
    out worker_name text,
    out global_watermark bigint,
    out local_watermark bigint,
    out local_queue_top bigint,
    out combined_queue text,
    out combined_type text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_queue_id int4;
BEGIN
    SELECT n.node_type, n.node_name, n.worker_name, n.combined_queue
      INTO node_type, node_name, worker_name, combined_queue
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown queue: ' || i_queue_name;
        RETURN;
    END IF;

    SELECT s.last_tick_id, s.provider_node, s.paused, s.uptodate, s.cur_error
      INTO completed_tick, provider_node, paused, uptodate, cur_error
      FROM pgq_node.local_state s
     WHERE s.queue_name = i_queue_name
       AND s.consumer_name = worker_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown consumer: ' || i_queue_name || '/' || worker_name;
        RETURN;
    END IF;

    SELECT l.node_location INTO provider_location
      FROM pgq_node.node_location l
     WHERE l.queue_name = i_queue_name
       AND l.node_name = provider_node;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown provider node: ' || i_queue_name || '/' || provider_node;
        RETURN;
    END IF;
    ret_code := 100;
    ret_note := 'Ok';

    IF combined_queue IS NOT NULL THEN
        SELECT c.node_type INTO combined_type
          FROM pgq_node.node_info c
         WHERE c.queue_name = get_worker_state.combined_queue;
        IF NOT FOUND THEN
            ret_code := 404;
            ret_note := 'Combinde queue node not found: ' || combined_queue;
            RETURN;
        END IF;
    END IF;

    IF node_type IN ('root', 'branch') THEN
        SELECT q.queue_id INTO v_queue_id FROM pgq.queue q WHERE q.queue_name = i_queue_name;
        SELECT t.tick_id INTO local_queue_top
          FROM pgq.tick t
         WHERE t.tick_queue = v_queue_id
         ORDER BY t.tick_queue DESC, t.tick_id DESC
         LIMIT 1;
        SELECT min(s.sub_last_tick) FILTER (WHERE c.co_name <> '.global_watermark'),
               min(s.sub_last_tick) FILTER (WHERE c.co_name = '.global_watermark')
          INTO local_watermark, global_watermark
          FROM pgq.subscription s
          JOIN pgq.consumer c ON c.co_id = s.sub_consumer
         WHERE s.sub_queue = v_queue_id;
        local_watermark := coalesce(local_watermark, local_queue_top);
    ELSE
        local_watermark := completed_tick;
    END IF;
    RETURN;
END;
$$;

-- Move the global watermark: the position every node of the cascade has
-- passed, so every queue may rotate away what lies before it and any node
-- can be re-parented to any other.
--   root:   NULL means "publish my local watermark"; .global_watermark moves
--           there, a pgq.global-watermark event carries it down the cascade,
--           and the root worker's position follows (its local_state would
--           otherwise go stale: a root worker consumes nothing).
--   branch: applies the value from such an event; a tick this queue no longer
--           (or not yet) has is skipped with 200, as old batches replay
--           watermarks from outside the current range.
--   leaf:   nothing to keep (100).
CREATE OR REPLACE FUNCTION pgq_node.set_global_watermark(
    in i_queue_name text,
    in i_watermark bigint,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text;
    v_worker text;
    v_wm bigint := i_watermark;
    v_rc int4;
    v_note text;
BEGIN
    SELECT n.node_type, n.worker_name INTO v_type, v_worker
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Queue' || i_queue_name || ' not found';
        RETURN;
    END IF;

    IF v_type = 'root' THEN
        IF v_wm IS NULL THEN
            SELECT f.ret_code, f.ret_note, f.local_watermark INTO v_rc, v_note, v_wm
              FROM pgq_node.get_node_info(i_queue_name) f;
            IF v_rc >= 300 THEN
                ret_code := v_rc;
                ret_note := v_note;
                RETURN;
            END IF;
            IF v_wm IS NULL THEN
                RAISE EXCEPTION 'local_watermark=NULL from get_node_info()?';
            END IF;
        END IF;

        PERFORM pgq.register_consumer_at(i_queue_name, '.global_watermark', v_wm);
        PERFORM pgq.insert_event(i_queue_name, 'pgq.global-watermark', v_wm::text,
                                 i_queue_name, NULL, NULL, NULL);
        UPDATE pgq_node.local_state
           SET last_tick_id = v_wm
         WHERE queue_name = i_queue_name
           AND consumer_name = v_worker;
    ELSIF v_type = 'branch' THEN
        IF v_wm IS NULL THEN
            ret_code := 500;
            ret_note := 'bad usage: wm=null on branch node';
            RETURN;
        END IF;
        IF NOT EXISTS (SELECT 1
                         FROM pgq.tick t
                         JOIN pgq.queue q ON q.queue_id = t.tick_queue
                        WHERE q.queue_name = i_queue_name
                          AND t.tick_id = v_wm) THEN
            ret_code := 200;
            ret_note := 'Skipping global watermark update to ' || v_wm::text;
            RETURN;
        END IF;
        PERFORM pgq.register_consumer_at(i_queue_name, '.global_watermark', v_wm);
    ELSE
        ret_code := 100;
        ret_note := 'Ignoring global watermark in leaf';
        RETURN;
    END IF;

    ret_code := 200;
    ret_note := 'Global watermark set to ' || v_wm::text;
    RETURN;
END;
$$;

-- On a database whose combined queue is a branch (it follows a combined root
-- elsewhere), a merge leaf of that queue does not apply anything: its worker
-- waits behind, and the combined queue's worker moves it here to the part
-- tick carried by each pgq.tick-id event, so that after a takeover it
-- continues from the right place.  201 when this is not such a pair.
CREATE OR REPLACE FUNCTION pgq_node.set_partition_watermark(
    in i_combined_queue_name text,
    in i_part_queue_name text,
    in i_watermark bigint,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_worker text;
BEGIN
    SELECT p.worker_name INTO v_worker
      FROM pgq_node.node_info c, pgq_node.node_info p
     WHERE p.queue_name = i_part_queue_name
       AND c.queue_name = i_combined_queue_name
       AND p.combined_queue = c.queue_name
       AND p.node_type = 'leaf'
       AND c.node_type = 'branch';
    IF NOT FOUND THEN
        ret_code := 201;
        ret_note := 'Part-queue does not exist';
        RETURN;
    END IF;

    UPDATE pgq_node.local_state
       SET last_tick_id = i_watermark
     WHERE queue_name = i_part_queue_name
       AND consumer_name = v_worker;
    IF NOT FOUND THEN
        ret_code := 401;
        ret_note := 'Worker registration not found';
        RETURN;
    END IF;

    ret_code := 200;
    ret_note := 'Ok';
    RETURN;
END;
$$;


-- ---------------------------------------------------------------------------
-- Subscriber side: any cascaded consumer
-- ---------------------------------------------------------------------------
--
-- A cascaded consumer reads batches from its provider node and writes into
-- this one.  Before each batch it polls get_consumer_state(): paused means
-- wait, uptodate=false means an admin changed something (it acknowledges with
-- set_consumer_uptodate), completed_tick tells whether the batch is already
-- applied.  set_consumer_completed() goes into the same transaction as the
-- batch's effects, which is what makes replay exactly-once.

-- Track a consumer on this node, reading from the given provider, positioned
-- at the given tick.  An existing one is moved (201).
CREATE OR REPLACE FUNCTION pgq_node.register_consumer(
    in i_queue_name text,
    in i_consumer_name text,
    in i_provider_node text,
    in i_custom_tick_id int8,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM pgq_node.node_info
     WHERE queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown queue: ' || i_queue_name;
        RETURN;
    END IF;

    UPDATE pgq_node.local_state
       SET provider_node = i_provider_node,
           last_tick_id = i_custom_tick_id
     WHERE queue_name = i_queue_name
       AND consumer_name = i_consumer_name;
    IF FOUND THEN
        ret_code := 201;
        ret_note := 'Consumer already registered: ' || i_queue_name || '/' || i_consumer_name;
        RETURN;
    END IF;

    INSERT INTO pgq_node.local_state (queue_name, consumer_name, provider_node, last_tick_id)
    VALUES (i_queue_name, i_consumer_name, i_provider_node, i_custom_tick_id);

    ret_code := 200;
    ret_note := 'Consumer ' || i_consumer_name || ' registered on queue ' || i_queue_name;
    RETURN;
END;
$$;

-- Stop tracking a consumer (200 also when it was not tracked).
CREATE OR REPLACE FUNCTION pgq_node.unregister_consumer(
    in i_queue_name text,
    in i_consumer_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM pgq_node.node_info
     WHERE queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown queue: ' || i_queue_name;
        RETURN;
    END IF;

    DELETE FROM pgq_node.local_state
     WHERE queue_name = i_queue_name
       AND consumer_name = i_consumer_name;

    ret_code := 200;
    ret_note := 'Consumer ' || i_consumer_name || ' unregistered from ' || i_queue_name;
    RETURN;
END;
$$;

-- What a cascaded consumer polls before each batch (see above).
CREATE OR REPLACE FUNCTION pgq_node.get_consumer_state(
    in i_queue_name text,
    in i_consumer_name text,
    out ret_code int4,
    out ret_note text,
    out node_type text,
    out node_name text,
    out completed_tick bigint,
    out provider_node text,
    out provider_location text,
    out paused boolean,
    out uptodate boolean,
    out cur_error text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT n.node_type, n.node_name INTO node_type, node_name
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown queue: ' || i_queue_name;
        RETURN;
    END IF;

    SELECT s.last_tick_id, s.provider_node, s.paused, s.uptodate, s.cur_error
      INTO completed_tick, provider_node, paused, uptodate, cur_error
      FROM pgq_node.local_state s
     WHERE s.queue_name = i_queue_name
       AND s.consumer_name = i_consumer_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown consumer: ' || i_queue_name || '/' || i_consumer_name;
        RETURN;
    END IF;

    SELECT l.node_location INTO provider_location
      FROM pgq_node.node_location l
     WHERE l.queue_name = i_queue_name
       AND l.node_name = provider_node;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown provider node: ' || i_queue_name || '/' || provider_node;
        RETURN;
    END IF;

    ret_code := 100;
    ret_note := 'Ok';
    RETURN;
END;
$$;

-- Point a consumer at another provider (which must be a known member).  The
-- position stays: tick ids are the same on every node of the cascade.
CREATE OR REPLACE FUNCTION pgq_node.change_consumer_provider(
    in i_queue_name text,
    in i_consumer_name text,
    in i_new_provider text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pgq_node.node_location
                    WHERE queue_name = i_queue_name
                      AND node_name = i_new_provider) THEN
        ret_code := 404;
        ret_note := 'New node not found: ' || i_new_provider;
        RETURN;
    END IF;

    UPDATE pgq_node.local_state
       SET provider_node = i_new_provider,
           uptodate = false
     WHERE queue_name = i_queue_name
       AND consumer_name = i_consumer_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown consumer: ' || i_queue_name || '/' || i_consumer_name;
        RETURN;
    END IF;

    ret_code := 200;
    ret_note := 'Consumer provider node set to : ' || i_new_provider;
    RETURN;
END;
$$;

-- The consumer acknowledges (true) or the admin invalidates (false) the
-- consumer's view of its state.
CREATE OR REPLACE FUNCTION pgq_node.set_consumer_uptodate(
    in i_queue_name text,
    in i_consumer_name text,
    in i_uptodate boolean,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE pgq_node.local_state
       SET uptodate = i_uptodate
     WHERE queue_name = i_queue_name
       AND consumer_name = i_consumer_name;
    IF FOUND THEN
        ret_code := 200;
        ret_note := 'Consumer uptodate = ' || i_uptodate::int4::text;
    ELSE
        ret_code := 404;
        ret_note := 'Consumer not known: ' || i_queue_name || '/' || i_consumer_name;
    END IF;
    RETURN;
END;
$$;

-- Pause or resume a consumer.  A change also clears uptodate, so the admin
-- can wait for the consumer to acknowledge it.
CREATE OR REPLACE FUNCTION pgq_node.set_consumer_paused(
    in i_queue_name text,
    in i_consumer_name text,
    in i_paused boolean,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old boolean;
    v_word text := CASE WHEN i_paused THEN 'paused' ELSE 'resumed' END;
BEGIN
    SELECT s.paused INTO v_old
      FROM pgq_node.local_state s
     WHERE s.queue_name = i_queue_name
       AND s.consumer_name = i_consumer_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Unknown consumer: ' || i_consumer_name;
    ELSIF v_old = i_paused THEN
        ret_code := 201;
        ret_note := 'Consumer ' || i_consumer_name || ' already ' || v_word;
    ELSE
        UPDATE pgq_node.local_state
           SET paused = i_paused,
               uptodate = false
         WHERE queue_name = i_queue_name
           AND consumer_name = i_consumer_name;
        ret_code := 200;
        ret_note := 'Consumer ' || i_consumer_name || ' tagged as ' || v_word;
    END IF;
    RETURN;
END;
$$;

-- Record the tick a consumer has applied, in the same transaction as the
-- batch's effects; success clears the last error.
CREATE OR REPLACE FUNCTION pgq_node.set_consumer_completed(
    in i_queue_name text,
    in i_consumer_name text,
    in i_tick_id int8,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE pgq_node.local_state
       SET last_tick_id = i_tick_id,
           cur_error = NULL
     WHERE queue_name = i_queue_name
       AND consumer_name = i_consumer_name;
    IF FOUND THEN
        ret_code := 100;
        ret_note := 'Consumer ' || i_consumer_name || ' completed tick = ' || i_tick_id::text;
    ELSE
        ret_code := 404;
        ret_note := 'Consumer not known: ' || i_queue_name || '/' || i_consumer_name;
    END IF;
    RETURN;
END;
$$;

-- Keep the reason the last batch failed, for status displays.  Called from
-- error handlers, so an unknown consumer is not an error (101).
CREATE OR REPLACE FUNCTION pgq_node.set_consumer_error(
    in i_queue_name text,
    in i_consumer_name text,
    in i_error_msg text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE pgq_node.local_state
       SET cur_error = i_error_msg
     WHERE queue_name = i_queue_name
       AND consumer_name = i_consumer_name;
    IF FOUND THEN
        ret_code := 100;
        ret_note := 'Consumer ' || i_consumer_name || ' error = ' || i_error_msg;
    ELSE
        ret_code := 101;
        ret_note := 'Consumer not known, ignoring: ' || i_queue_name || '/' || i_consumer_name;
    END IF;
    RETURN;
END;
$$;


-- ---------------------------------------------------------------------------
-- Maintenance (pgqd, via pgq.maint_operations, for root queues)
-- ---------------------------------------------------------------------------

-- Republish the global watermark when it is 5 minutes old, so that queues
-- keep rotating even when the root's worker is not running.  Always 0: one
-- call per maintenance round is enough.
CREATE OR REPLACE FUNCTION pgq_node.maint_watermark(i_queue_name text)
RETURNS int4
LANGUAGE plpgsql
AS $$
DECLARE
    v_lag interval;
BEGIN
    PERFORM 1 FROM pgq_node.node_info
     WHERE queue_name = i_queue_name
       AND node_type = 'root'
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    SELECT pg_catalog.now() - t.tick_time INTO v_lag
      FROM pgq.subscription s
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
      JOIN pgq.consumer c ON c.co_id = s.sub_consumer
      JOIN pgq.tick t ON t.tick_queue = s.sub_queue AND t.tick_id = s.sub_last_tick
     WHERE q.queue_name = i_queue_name
       AND c.co_name = '.global_watermark';
    IF v_lag >= interval '5 minutes' THEN
        PERFORM pgq_node.set_global_watermark(i_queue_name, NULL);
    END IF;
    RETURN 0;
END;
$$;


-- ---------------------------------------------------------------------------
-- Privileges (the original's grants.ini, re-applied on every run)
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgq_node TO public;

-- Start from nothing for the pgq roles and public, then grant; other roles'
-- grants made by the DBA are left as they are.
REVOKE ALL ON FUNCTION
    pgq_node.is_root_node(text),
    pgq_node.is_leaf_node(text),
    pgq_node.version(),
    pgq_node.skydeck_revision(),
    pgq_node.register_consumer(text, text, text, int8),
    pgq_node.unregister_consumer(text, text),
    pgq_node.change_consumer_provider(text, text, text),
    pgq_node.set_consumer_uptodate(text, text, boolean),
    pgq_node.set_consumer_paused(text, text, boolean),
    pgq_node.set_consumer_completed(text, text, int8),
    pgq_node.set_consumer_error(text, text, text),
    pgq_node.create_node(text, text, text, text, text, bigint, text),
    pgq_node.drop_node(text, text),
    pgq_node.demote_root(text, int4, text),
    pgq_node.promote_branch(text),
    pgq_node.set_node_attrs(text, text),
    pgq_node.get_worker_state(text),
    pgq_node.set_global_watermark(text, bigint),
    pgq_node.set_partition_watermark(text, text, bigint),
    pgq_node.register_location(text, text, text, boolean),
    pgq_node.unregister_location(text, text),
    pgq_node.upgrade_schema(),
    pgq_node.maint_watermark(text),
    pgq_node.get_consumer_info(text),
    pgq_node.get_consumer_state(text, text),
    pgq_node.get_queue_locations(text),
    pgq_node.get_node_info(text),
    pgq_node.get_subscriber_info(text),
    pgq_node.register_subscriber(text, text, text, int8),
    pgq_node.unregister_subscriber(text, text),
    pgq_node.set_subscriber_watermark(text, text, bigint)
  FROM pgq_reader, pgq_writer, pgq_admin, public CASCADE;

-- anybody
GRANT EXECUTE ON FUNCTION
    pgq_node.is_root_node(text),
    pgq_node.is_leaf_node(text),
    pgq_node.version(),
    pgq_node.skydeck_revision()
  TO public;

-- cascaded consumers, on their target node
GRANT EXECUTE ON FUNCTION
    pgq_node.register_consumer(text, text, text, int8),
    pgq_node.unregister_consumer(text, text),
    pgq_node.change_consumer_provider(text, text, text),
    pgq_node.set_consumer_uptodate(text, text, boolean),
    pgq_node.set_consumer_paused(text, text, boolean),
    pgq_node.set_consumer_completed(text, text, int8),
    pgq_node.set_consumer_error(text, text, text)
  TO pgq_writer, pgq_admin;

-- the node's worker and the admin, on the node itself; the ticker and the
-- upgrade
GRANT EXECUTE ON FUNCTION
    pgq_node.create_node(text, text, text, text, text, bigint, text),
    pgq_node.drop_node(text, text),
    pgq_node.demote_root(text, int4, text),
    pgq_node.promote_branch(text),
    pgq_node.set_node_attrs(text, text),
    pgq_node.get_worker_state(text),
    pgq_node.set_global_watermark(text, bigint),
    pgq_node.set_partition_watermark(text, text, bigint),
    pgq_node.register_location(text, text, text, boolean),
    pgq_node.unregister_location(text, text),
    pgq_node.upgrade_schema(),
    pgq_node.maint_watermark(text)
  TO pgq_admin;

-- consumers and workers of other nodes, on their provider
GRANT EXECUTE ON FUNCTION
    pgq_node.get_consumer_info(text),
    pgq_node.get_consumer_state(text, text),
    pgq_node.get_queue_locations(text),
    pgq_node.get_node_info(text),
    pgq_node.get_subscriber_info(text),
    pgq_node.register_subscriber(text, text, text, int8),
    pgq_node.unregister_subscriber(text, text),
    pgq_node.set_subscriber_watermark(text, text, bigint)
  TO pgq_reader, pgq_writer, pgq_admin;

REVOKE ALL ON TABLE pgq_node.node_location, pgq_node.node_info,
                    pgq_node.local_state, pgq_node.subscriber_info
  FROM pgq_reader, pgq_writer, pgq_admin, public CASCADE;
GRANT SELECT ON TABLE pgq_node.node_location, pgq_node.node_info,
                      pgq_node.local_state, pgq_node.subscriber_info
  TO pgq_reader, pgq_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE pgq_node.node_location, pgq_node.node_info,
                                              pgq_node.local_state, pgq_node.subscriber_info
  TO pgq_admin;
