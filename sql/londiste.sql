-- skydeck: Londiste table replication state (schema londiste) in plain SQL
-- and PL/pgSQL.
--
-- A drop-in replacement for the extension londiste 3.8: the same tables,
-- function signatures, result columns, return codes and notes, events and
-- grants, so the Skytools 3 londiste tool and existing installations work
-- against it unchanged.  It sits on top of schemas pgq (sql/pgq.sql, with the
-- row triggers of sql/pgq_triggers.sql) and pgq_node (sql/pgq_node.sql) and
-- uses only their public tables and functions.
--
-- The revision marker below and londiste.skydeck_revision() are bumped
-- together whenever this file changes in a way installed databases must
-- receive.
-- skydeck-revision: 3
--
-- This file is one idempotent install-and-upgrade script: it can be fed to
-- `psql -f` or run by `skydeck install` inside a single transaction with the
-- simple query protocol.  No psql meta-commands, no transaction control.
--
-- Return codes follow pgq_node: 1xx informational, 2xx done, 3xx warning,
-- 4xx-5xx refused.  Notes keep the original's wording (and its typos): tools
-- and people grep logs for them.
--
-- Names: a table or sequence is known by its "fqname", schema.name with the
-- first dot as separator and public as the default schema, unquoted.  Every
-- statement built from such a name goes through londiste.quote_fqname() or
-- quote_ident(); values go through quote_literal() or USING.

DO $install_guard$
DECLARE
    v_rev int4;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'londiste') THEN
        RAISE EXCEPTION 'skydeck: the extension londiste is installed in this database; skydeck''s londiste is its plain-SQL replacement and is not installed over it'
            USING HINT = 'Stop the londiste workers, DROP EXTENSION londiste CASCADE (this forgets the table registrations), then install again.';
    END IF;
    IF pg_catalog.to_regprocedure('pgq_node.get_node_info(text)') IS NULL THEN
        RAISE EXCEPTION 'skydeck: londiste needs schema pgq_node; install pgq and pgq_node first';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'londiste' AND p.proname = 'skydeck_revision'
                  AND p.pronargs = 0)
    THEN
        EXECUTE 'SELECT londiste.skydeck_revision()' INTO v_rev;
        IF v_rev > 2 THEN
            RAISE EXCEPTION 'skydeck: londiste revision % is installed, newer than revision 2 carried by this script; downgrades are not supported', v_rev;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'londiste') THEN
        CREATE SCHEMA londiste;
    END IF;
END
$install_guard$;

CREATE OR REPLACE FUNCTION londiste.skydeck_revision()
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT 3 $$;


-- ---------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------

-- londiste_writer acts for the replication worker and the admin tool (so it
-- is a pgq_admin); londiste_reader is what a downstream node needs on its
-- provider.  Cluster-wide, so created only when missing; parallel installs
-- into several databases may race, the loser moves on.
DO $roles$
BEGIN
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'londiste_writer') THEN
            CREATE ROLE londiste_writer IN ROLE pgq_admin;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'londiste_reader') THEN
            CREATE ROLE londiste_reader IN ROLE pgq_reader;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
END
$roles$;


-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
--
-- Table, column and constraint names are the original's: the londiste tool
-- reads these tables directly.
--
-- table_info       tables of each queue: registered globally (a row), applied
--                  here (local), and where the initial copy stands
--                  (merge_state, see §5.6 of the spec: NULL, in-copy,
--                  catching-up, wanna-sync:T, do-sync:T, ok)
-- seq_info         sequences of each queue with the last value the root
--                  published
-- applied_execute  EXECUTE scripts already run here, by file name alone
-- pending_fkeys    foreign keys dropped for a copy, waiting to be restored

DO $structure$
BEGIN
    IF pg_catalog.to_regclass('londiste.table_info') IS NULL THEN
        CREATE TABLE londiste.table_info (
            nr                  serial      NOT NULL,
            queue_name          text        NOT NULL,
            table_name          text        NOT NULL,
            local               boolean     NOT NULL DEFAULT false,
            merge_state         text,
            custom_snapshot     text,
            dropped_ddl         text,
            table_attrs         text,
            dest_table          text,
            CONSTRAINT table_info_pkey PRIMARY KEY (queue_name, table_name),
            CONSTRAINT table_info_queue_name_fkey FOREIGN KEY (queue_name)
                REFERENCES pgq_node.node_info (queue_name) ON DELETE CASCADE,
            -- saved DDL exists only while a merge copy holds it
            CONSTRAINT table_info_check
                CHECK (dropped_ddl IS NULL OR merge_state IN ('in-copy', 'catching-up'))
        );
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'londiste.table_info'::regclass
                      AND attname = 'dest_table' AND NOT attisdropped) THEN
        ALTER TABLE londiste.table_info ADD COLUMN dest_table text;
    END IF;

    IF pg_catalog.to_regclass('londiste.seq_info') IS NULL THEN
        CREATE TABLE londiste.seq_info (
            nr                  serial      NOT NULL,
            queue_name          text        NOT NULL,
            seq_name            text        NOT NULL,
            local               boolean     NOT NULL DEFAULT false,
            last_value          int8        NOT NULL,
            CONSTRAINT seq_info_pkey PRIMARY KEY (queue_name, seq_name),
            CONSTRAINT seq_info_queue_name_fkey FOREIGN KEY (queue_name)
                REFERENCES pgq_node.node_info (queue_name) ON DELETE CASCADE
        );
    END IF;

    -- keyed by the file name alone: a script runs once per database, whatever
    -- queue brought it (spec §10, quirk 13)
    IF pg_catalog.to_regclass('londiste.applied_execute') IS NULL THEN
        CREATE TABLE londiste.applied_execute (
            queue_name          text        NOT NULL,
            execute_file        text        NOT NULL,
            execute_time        timestamptz NOT NULL DEFAULT now(),
            execute_sql         text        NOT NULL,
            execute_attrs       text,
            CONSTRAINT applied_execute_pkey PRIMARY KEY (execute_file)
        );
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'londiste.applied_execute'::regclass
                      AND attname = 'execute_attrs' AND NOT attisdropped) THEN
        ALTER TABLE londiste.applied_execute ADD COLUMN execute_attrs text;
    END IF;

    IF pg_catalog.to_regclass('londiste.pending_fkeys') IS NULL THEN
        CREATE TABLE londiste.pending_fkeys (
            from_table          text        NOT NULL,
            to_table            text        NOT NULL,
            fkey_name           text        NOT NULL,
            fkey_def            text        NOT NULL,
            CONSTRAINT pending_fkeys_pkey PRIMARY KEY (from_table, fkey_name)
        );
    END IF;
END
$structure$;


-- ---------------------------------------------------------------------------
-- Functions whose argument or result lists changed over time
-- ---------------------------------------------------------------------------
--
-- CREATE OR REPLACE cannot change a function's result columns or parameter
-- names; drop what differs (older londiste layouts: get_table_list without
-- dest_table, restore_table_fkey without the lazy flag is a different
-- signature altogether and simply goes).
DO $old_signatures$
DECLARE
    r record;
BEGIN
    IF pg_catalog.to_regprocedure('londiste.restore_table_fkey(text,text)') IS NOT NULL THEN
        DROP FUNCTION londiste.restore_table_fkey(text, text);
    END IF;
    FOR r IN
        SELECT p.oid::regprocedure AS fn
          FROM (VALUES
            ('londiste.get_table_list(text)', 'i_queue_name text, OUT table_name text, OUT local boolean, OUT merge_state text, OUT custom_snapshot text, OUT table_attrs text, OUT dropped_ddl text, OUT copy_role text, OUT copy_pos integer, OUT dest_table text'),
            ('londiste.get_seq_list(text)', 'i_queue_name text, OUT seq_name text, OUT last_value bigint, OUT local boolean'),
            ('londiste._coordinate_copy(text,text)', 'i_queue_name text, i_table_name text, OUT copy_role text, OUT copy_pos integer'),
            ('londiste.local_show_missing(text)', 'i_queue_name text, OUT obj_kind text, OUT obj_name text'),
            ('londiste.create_trigger(text,text,text[],text,text)', 'i_queue_name text, i_table_name text, i_trg_args text[], i_dest_table text, i_node_type text, OUT ret_code integer, OUT ret_note text, OUT trigger_name text'),
            ('londiste.split_fqname(text)', 'i_fqname text, OUT schema_part text, OUT name_part text'),
            ('londiste.find_rel_oid(text,text)', 'i_fqname text, i_kind text'),
            ('londiste.find_table_oid(text)', 'tbl text'),
            ('londiste.find_seq_oid(text)', 'seq text')
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

-- Structure fixes for databases set up by older layouts.  The install script
-- does the same work; this stays callable because old tooling calls it.
-- Returns 0 like the original.
CREATE OR REPLACE FUNCTION londiste.upgrade_schema()
RETURNS int4
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'londiste.table_info'::regclass
                      AND attname = 'dest_table' AND NOT attisdropped) THEN
        ALTER TABLE londiste.table_info ADD COLUMN dest_table text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'londiste.applied_execute'::regclass
                      AND attname = 'execute_attrs' AND NOT attisdropped) THEN
        ALTER TABLE londiste.applied_execute ADD COLUMN execute_attrs text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'londiste_writer') THEN
        CREATE ROLE londiste_writer IN ROLE pgq_admin;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'londiste_reader') THEN
        CREATE ROLE londiste_reader IN ROLE pgq_reader;
    END IF;
    RETURN 0;
END;
$$;

-- The API level implemented: the original answers with its extension
-- version, and the londiste tool compares against it (lazy foreign-key
-- restore from 3.7 on).
CREATE OR REPLACE FUNCTION londiste.version()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN '3.8';
END;
$$;


-- ---------------------------------------------------------------------------
-- Names
-- ---------------------------------------------------------------------------

-- schema and name of an fqname: the first dot separates, public by default
CREATE OR REPLACE FUNCTION londiste.split_fqname(
    in i_fqname text,
    out schema_part text,
    out name_part text)
RETURNS record
LANGUAGE plpgsql STRICT IMMUTABLE
AS $$
DECLARE
    v_dot int4 := pg_catalog.strpos(i_fqname, '.');
BEGIN
    IF v_dot > 0 THEN
        schema_part := pg_catalog.substr(i_fqname, 1, v_dot - 1);
        name_part := pg_catalog.substr(i_fqname, v_dot + 1);
    ELSE
        schema_part := 'public';
        name_part := i_fqname;
    END IF;
END;
$$;

-- an fqname made safe for SQL text
CREATE OR REPLACE FUNCTION londiste.quote_fqname(i_name text)
RETURNS text
LANGUAGE plpgsql STRICT IMMUTABLE
AS $$
DECLARE
    v_parts record;
BEGIN
    SELECT * INTO v_parts FROM londiste.split_fqname(i_name);
    RETURN pg_catalog.quote_ident(v_parts.schema_part) || '.'
        || pg_catalog.quote_ident(v_parts.name_part);
END;
$$;

-- a name with the schema added when it has none
CREATE OR REPLACE FUNCTION londiste.make_fqname(i_name text)
RETURNS text
LANGUAGE plpgsql STRICT IMMUTABLE
AS $$
BEGIN
    IF pg_catalog.strpos(i_name, '.') > 0 THEN
        RETURN i_name;
    END IF;
    RETURN 'public.' || i_name;
END;
$$;

-- the pg_class row of an fqname with the given relkind, or NULL
CREATE OR REPLACE FUNCTION londiste.find_rel_oid(i_fqname text, i_kind text)
RETURNS oid
LANGUAGE plpgsql STRICT STABLE
AS $$
DECLARE
    v_parts record;
    v_oid oid;
BEGIN
    SELECT * INTO v_parts FROM londiste.split_fqname(i_fqname);
    SELECT c.oid INTO v_oid
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = v_parts.schema_part
       AND c.relname = v_parts.name_part
       AND c.relkind = i_kind;
    RETURN v_oid;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.find_table_oid(tbl text)
RETURNS oid
LANGUAGE plpgsql STRICT STABLE
AS $$
BEGIN
    RETURN londiste.find_rel_oid(tbl, 'r');
END;
$$;

CREATE OR REPLACE FUNCTION londiste.find_seq_oid(seq text)
RETURNS oid
LANGUAGE plpgsql STRICT STABLE
AS $$
BEGIN
    RETURN londiste.find_rel_oid(seq, 'S');
END;
$$;

-- One letter per live column in column order: k for primary-key columns,
-- v for the others (the column-type string of the old logtriga).
CREATE OR REPLACE FUNCTION londiste.find_column_types(tbl text)
RETURNS text
LANGUAGE plpgsql STRICT STABLE
AS $$
DECLARE
    v_oid oid := londiste.find_table_oid(tbl);
    v_res text;
BEGIN
    SELECT pg_catalog.string_agg(
               CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                                  WHERE i.indrelid = v_oid AND i.indisprimary
                                    AND a.attnum = ANY (i.indkey::int2[]))
                    THEN 'k' ELSE 'v' END,
               '' ORDER BY a.attnum)
      INTO v_res
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = v_oid AND a.attnum > 0 AND NOT a.attisdropped;
    RETURN coalesce(v_res, '');
END;
$$;

-- whether a function is one of pgq's row triggers (they all take the queue
-- name as first argument)
CREATE OR REPLACE FUNCTION londiste.is_replica_func(func_oid oid)
RETURNS boolean
LANGUAGE sql STRICT STABLE
AS $$
    SELECT count(1) > 0
      FROM pg_catalog.pg_proc f
      JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace
     WHERE f.oid = $1
       AND n.nspname = 'pgq'
       AND f.proname IN ('sqltriga', 'logutriga', 'jsontriga');
$$;


-- ---------------------------------------------------------------------------
-- Reading the registrations
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION londiste.get_seq_list(
    in i_queue_name text,
    out seq_name text,
    out last_value int8,
    out local boolean)
RETURNS SETOF record
LANGUAGE sql STRICT
AS $$
    SELECT s.seq_name, s.last_value, s.local
      FROM londiste.seq_info s
     WHERE s.queue_name = $1
     ORDER BY s.nr, s.seq_name;
$$;

-- How the copy of a table that several part queues feed into one destination
-- (a merge leaf) is coordinated.  Every (queue, table) of the destination not
-- yet ok is a part; the lead is the first local one by queue name, or the one
-- that already dropped the destination's DDL.
--   lead         drop indexes/constraints into dropped_ddl, copy, restore
--   wait-copy    wait until the lead has dropped the DDL
--   wait-replay  copy, then wait before catching up until the role clears
-- copy_pos is how many parts with a lower queue name are in copy beside this
-- one, for max_parallel_copy.
CREATE OR REPLACE FUNCTION londiste._coordinate_copy(
    in i_queue_name text,
    in i_table_name text,
    out copy_role text,
    out copy_pos int4)
RETURNS record
LANGUAGE plpgsql STRICT STABLE
AS $$
DECLARE
    v_me record;
    v_lead text;
    v_lead_ddl text;
    v_parts int4;
    v_done int4;
BEGIN
    copy_role := NULL;
    copy_pos := 0;

    SELECT t.merge_state, t.dropped_ddl, coalesce(t.dest_table, t.table_name) AS dest,
           n.combined_queue
      INTO v_me
      FROM londiste.table_info t
      JOIN pgq_node.node_info n ON n.queue_name = t.queue_name
     WHERE t.queue_name = i_queue_name AND t.table_name = i_table_name;
    IF NOT FOUND THEN
        -- like the original: an unknown table has no position either
        copy_pos := NULL;
        RETURN;
    END IF;

    -- the parts: the same destination on the queues that share this one's
    -- combined queue (or, without one, on every uncombined queue here)
    SELECT min(p.queue_name) FILTER (WHERE p.local),
           min(p.queue_name) FILTER (WHERE p.local AND p.dropped_ddl IS NOT NULL),
           count(*) FILTER (WHERE p.local),
           count(*) FILTER (WHERE p.local AND p.merge_state IS DISTINCT FROM 'in-copy'
                                          AND p.merge_state IS NOT NULL),
           count(*) FILTER (WHERE p.queue_name < i_queue_name
                              AND v_me.merge_state = 'in-copy'
                              AND p.merge_state = 'in-copy')
      INTO v_lead, v_lead_ddl, v_parts, v_done, copy_pos
      FROM pgq_node.node_info n2
      JOIN londiste.table_info p ON p.queue_name = n2.queue_name
     WHERE n2.combined_queue IS NOT DISTINCT FROM v_me.combined_queue
       AND coalesce(p.dest_table, p.table_name) = v_me.dest
       AND (p.merge_state IS NULL OR p.merge_state <> 'ok');

    v_lead := coalesce(v_lead_ddl, v_lead);
    IF v_parts = 1 OR v_lead IS NULL THEN
        RETURN;
    END IF;

    IF i_queue_name = v_lead THEN
        IF v_me.merge_state = 'in-copy' THEN
            IF v_me.dropped_ddl IS NULL AND v_done > 0 THEN
                -- a late joiner: others are past copying, copy with the DDL
                copy_role := 'wait-replay';
            ELSIF v_done < v_parts THEN
                copy_role := 'lead';
            END IF;
            -- the lead is never made to wait for a slot
            copy_pos := 0;
        ELSIF v_me.merge_state = 'catching-up' AND v_me.dropped_ddl IS NOT NULL
              AND v_done < v_parts THEN
            copy_role := 'wait-replay';
        END IF;
    ELSIF v_me.merge_state = 'in-copy' THEN
        IF v_lead_ddl IS NOT NULL OR v_done > 0 THEN
            copy_role := 'wait-replay';
        ELSE
            copy_role := 'wait-copy';
        END IF;
    ELSIF v_me.merge_state = 'catching-up' AND v_lead_ddl IS NOT NULL THEN
        copy_role := 'wait-replay';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.get_table_list(
    in i_queue_name text,
    out table_name text,
    out local boolean,
    out merge_state text,
    out custom_snapshot text,
    out table_attrs text,
    out dropped_ddl text,
    out copy_role text,
    out copy_pos int4,
    out dest_table text)
RETURNS SETOF record
LANGUAGE plpgsql STRICT STABLE
AS $$
DECLARE
    r record;
    c record;
BEGIN
    FOR r IN
        SELECT t.* FROM londiste.table_info t
         WHERE t.queue_name = i_queue_name
         ORDER BY t.nr, t.table_name
    LOOP
        table_name := r.table_name;
        local := r.local;
        merge_state := r.merge_state;
        custom_snapshot := r.custom_snapshot;
        table_attrs := r.table_attrs;
        dropped_ddl := r.dropped_ddl;
        dest_table := r.dest_table;
        copy_role := NULL;
        copy_pos := 0;
        IF r.merge_state IN ('in-copy', 'catching-up') THEN
            SELECT * INTO c FROM londiste._coordinate_copy(i_queue_name, r.table_name);
            copy_role := c.copy_role;
            copy_pos := c.copy_pos;
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- What add-table/add-seq could still take: on the root the user tables and
-- sequences of this database not applied on the queue; elsewhere the
-- queue's tables and sequences not applied here.
CREATE OR REPLACE FUNCTION londiste.local_show_missing(
    in i_queue_name text,
    out obj_kind text,
    out obj_name text)
RETURNS SETOF record
LANGUAGE plpgsql STRICT STABLE
AS $$
BEGIN
    IF pgq_node.is_root_node(i_queue_name) THEN
        RETURN QUERY
            SELECT c.relkind::text, n.nspname || '.' || c.relname
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'S')
               AND n.nspname NOT IN ('pgq', 'pgq_ext', 'pgq_node', 'londiste',
                                     'pg_catalog', 'information_schema')
               AND n.nspname !~ '^pg_(toast|temp)'
               AND NOT EXISTS (SELECT 1 FROM londiste.table_info t
                                WHERE t.queue_name = i_queue_name AND t.local
                                  AND coalesce(t.dest_table, t.table_name)
                                      = n.nspname || '.' || c.relname)
             ORDER BY 1, 2;
    ELSE
        RETURN QUERY
            SELECT x.kind, x.name
              FROM (SELECT 'S'::text AS kind, s.seq_name AS name
                      FROM londiste.seq_info s
                     WHERE s.queue_name = i_queue_name AND NOT s.local
                    UNION ALL
                    SELECT 'r', t.table_name
                      FROM londiste.table_info t
                     WHERE t.queue_name = i_queue_name AND NOT t.local) x
             ORDER BY 1, 2;
    END IF;
END;
$$;


-- ---------------------------------------------------------------------------
-- Triggers on replicated tables
-- ---------------------------------------------------------------------------

-- Put pgq's row trigger (and the truncate trigger) for a queue on a table.
-- i_trg_args mixes trigger arguments with add-table's magic words, which are
-- skipped here; tgflags=LETTERS picks timing (B/A), events (I/U/D), function
-- (Q sqltriga, L logutriga, J jsontriga) and S for a SKIP trigger.  A leaf
-- gets 'deny' triggers: only the root takes writes.  A SKIP trigger is named
-- with a zzz_ prefix so that it sorts (and fires) after the table's other
-- BEFORE triggers.
CREATE OR REPLACE FUNCTION londiste.create_trigger(
    in i_queue_name     text,
    in i_table_name     text,
    in i_trg_args       text[],
    in i_dest_table     text,
    in i_node_type      text,
    out ret_code        int4,
    out ret_note        text,
    out trigger_name    text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_arg text;
    v_flags text := '';
    v_args text[] := '{}';
    v_extra text[] := '{}';
    v_skip boolean := false;
    v_none boolean := false;
    v_has_extra1 boolean := false;
    v_func text;
    v_timing text;
    v_events text[] := '{}';
    v_tbl_oid oid;
    v_skip_count int4;
    v_skip_name text;
    v_trunc_name text;
BEGIN
    FOREACH v_arg IN ARRAY coalesce(i_trg_args, '{}'::text[]) LOOP
        IF v_arg LIKE 'tgflags=%' THEN
            v_flags := v_flags || pg_catalog.upper(pg_catalog.substr(v_arg, 9));
        ELSIF v_arg IN ('no_triggers', 'virtual_table') THEN
            v_none := true;
        ELSIF pg_catalog.lower(v_arg) = 'skip' THEN
            v_skip := true;
        ELSIF v_arg IN ('expect_sync', 'skip_truncate', 'merge_all', 'no_merge') THEN
            NULL;   -- add-table's own words
        ELSE
            IF v_arg LIKE 'ev_extra1=%' THEN
                v_has_extra1 := true;
            END IF;
            v_args := v_args || pg_catalog.quote_literal(v_arg);
        END IF;
    END LOOP;

    IF v_none THEN
        ret_code := 201;
        ret_note := 'Trigger not created';
        RETURN;
    END IF;

    -- a table applied under another name keeps the global name in its events
    IF i_dest_table <> i_table_name AND NOT v_has_extra1 THEN
        v_args := v_args || pg_catalog.quote_literal('ev_extra1=' || pg_catalog.quote_literal(i_table_name));
    END IF;

    trigger_name := '_londiste_' || i_queue_name;
    v_timing := CASE WHEN pg_catalog.strpos(v_flags, 'A') > 0 THEN 'AFTER'
                     WHEN pg_catalog.strpos(v_flags, 'B') > 0 THEN 'BEFORE'
                     ELSE 'AFTER' END;
    v_func := CASE WHEN pg_catalog.strpos(v_flags, 'J') > 0 THEN 'pgq.jsontriga'
                   WHEN pg_catalog.strpos(v_flags, 'L') > 0 THEN 'pgq.logutriga'
                   WHEN pg_catalog.strpos(v_flags, 'Q') > 0 THEN 'pgq.sqltriga'
                   ELSE 'pgq.logutriga' END;
    IF pg_catalog.strpos(v_flags, 'I') > 0 THEN v_events := v_events || 'INSERT'::text; END IF;
    IF pg_catalog.strpos(v_flags, 'U') > 0 THEN v_events := v_events || 'UPDATE'::text; END IF;
    IF pg_catalog.strpos(v_flags, 'D') > 0 THEN v_events := v_events || 'DELETE'::text; END IF;
    IF pg_catalog.cardinality(v_events) = 0 THEN
        v_events := ARRAY['INSERT', 'UPDATE', 'DELETE'];
    END IF;
    IF pg_catalog.strpos(v_flags, 'S') > 0 THEN
        v_skip := true;
    END IF;

    IF i_node_type = 'leaf' THEN
        -- a leaf set up without pgq's trigger functions gets no trigger
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = 'pgq'
                          AND p.proname IN ('logutriga', 'sqltriga', 'jsontriga')) THEN
            ret_code := 201;
            ret_note := 'Trigger not created';
            RETURN;
        END IF;
        v_extra := ARRAY[pg_catalog.quote_literal('deny')];
    END IF;

    v_tbl_oid := londiste.find_table_oid(i_dest_table);

    -- SKIP triggers already on the table (SKIP given as a later argument)
    IF v_skip OR v_timing = 'AFTER' THEN
        SELECT count(*), min(t.tgname) INTO v_skip_count, v_skip_name
          FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = v_tbl_oid
           AND position('\x00534b495000'::bytea IN t.tgargs) > 0;
        -- an AFTER trigger would never see rows a SKIP trigger dropped
        IF v_timing = 'AFTER' AND v_skip_count > 0 THEN
            ret_code := 403;
            ret_note := 'AFTER trigger cannot work with SKIP trigger(s)';
            RETURN;
        END IF;
    END IF;

    IF v_skip THEN
        IF v_skip_count = 0 THEN
            trigger_name := 'zzz_' || trigger_name;
            v_args := v_args || pg_catalog.quote_literal('SKIP');
        ELSIF v_skip_count = 1 THEN
            -- there is one already: it must sort last, this one need not skip
            IF pg_catalog.strpos(v_skip_name, 'zzz_') <> 1 THEN
                EXECUTE 'ALTER TRIGGER ' || pg_catalog.quote_ident(v_skip_name)
                    || ' ON ' || londiste.quote_fqname(i_dest_table)
                    || ' RENAME TO ' || pg_catalog.quote_ident('zzz_' || v_skip_name);
            END IF;
        ELSE
            ret_code := 405;
            ret_note := 'Multiple SKIP triggers';
            RETURN;
        END IF;
    END IF;

    -- (re)create the row trigger: a changed argument list, timing or event
    -- set all need a new trigger, so an existing one is always replaced
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = v_tbl_oid AND t.tgname = trigger_name) THEN
        EXECUTE 'DROP TRIGGER IF EXISTS ' || pg_catalog.quote_ident(trigger_name)
            || ' ON ' || londiste.quote_fqname(i_dest_table);
    END IF;
    EXECUTE 'CREATE TRIGGER ' || pg_catalog.quote_ident(trigger_name)
        || ' ' || v_timing || ' ' || pg_catalog.array_to_string(v_events, ' OR ')
        || ' ON ' || londiste.quote_fqname(i_dest_table)
        || ' FOR EACH ROW EXECUTE PROCEDURE ' || v_func || '('
        || pg_catalog.array_to_string(ARRAY[pg_catalog.quote_literal(i_queue_name)] || v_args || v_extra, ', ')
        || ')';

    -- truncates travel as sqltriga 'R' events; created once, never replaced
    v_trunc_name := '_londiste_' || i_queue_name || '_truncate';
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = v_tbl_oid AND t.tgname = v_trunc_name) THEN
        EXECUTE 'CREATE TRIGGER ' || pg_catalog.quote_ident(v_trunc_name)
            || ' AFTER TRUNCATE ON ' || londiste.quote_fqname(i_dest_table)
            || ' FOR EACH STATEMENT EXECUTE PROCEDURE pgq.sqltriga('
            || pg_catalog.array_to_string(ARRAY[pg_catalog.quote_literal(i_queue_name)] || v_extra, ', ')
            || ')';
    END IF;

    ret_code := 200;
    ret_note := 'OK';
END;
$$;

-- Drop every pgq trigger on a registered table (its destination) whose first
-- argument is this queue: found by function and argument, not by name.
CREATE OR REPLACE FUNCTION londiste.drop_table_triggers(
    in i_queue_name text,
    in i_table_name text)
RETURNS void
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_dest text;
    v_oid oid;
    v_qname bytea := pg_catalog.convert_to(i_queue_name, pg_catalog.getdatabaseencoding());
    v_trg name;
BEGIN
    SELECT coalesce(t.dest_table, t.table_name) INTO v_dest
      FROM londiste.table_info t
     WHERE t.queue_name = i_queue_name AND t.table_name = i_table_name;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_oid := londiste.find_table_oid(v_dest);
    FOR v_trg IN
        SELECT t.tgname FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = v_oid
           AND londiste.is_replica_func(t.tgfoid)
           AND t.tgnargs > 0
           AND substring(t.tgargs FROM 1
                   FOR position('\x00'::bytea IN t.tgargs) - 1) = v_qname
    LOOP
        EXECUTE 'DROP TRIGGER ' || pg_catalog.quote_ident(v_trg)
            || ' ON ' || londiste.quote_fqname(v_dest);
    END LOOP;
END;
$$;

-- table_info rows going away take their triggers with them
CREATE OR REPLACE FUNCTION londiste.table_info_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM londiste.drop_table_triggers(OLD.queue_name, OLD.table_name);
    END IF;
    RETURN OLD;
END;
$$;

DO $table_info_trigger$
BEGIN
    -- before delete: the row must still be there to find the destination
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                WHERE tgrelid = 'londiste.table_info'::regclass
                  AND tgname = 'table_info_trigger_sync'
                  AND (tgtype & 2) = 0) THEN
        DROP TRIGGER table_info_trigger_sync ON londiste.table_info;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                    WHERE tgrelid = 'londiste.table_info'::regclass
                      AND tgname = 'table_info_trigger_sync') THEN
        CREATE TRIGGER table_info_trigger_sync BEFORE DELETE ON londiste.table_info
            FOR EACH ROW EXECUTE PROCEDURE londiste.table_info_trigger();
    END IF;
END
$table_info_trigger$;


-- ---------------------------------------------------------------------------
-- Events from the root
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION londiste.root_notify_change(i_queue_name text, i_ev_type text, i_ev_data text)
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT coalesce(pgq_node.is_root_node(i_queue_name), false) THEN
        RAISE EXCEPTION 'only root node can send events';
    END IF;
    PERFORM pgq.insert_event(i_queue_name, i_ev_type, i_ev_data);
    RETURN 1;
END;
$$;


-- ---------------------------------------------------------------------------
-- Global registrations (the root's list, mirrored by the workers)
-- ---------------------------------------------------------------------------

-- A table joins the queue's set; a leaf feeding a combined queue passes it on.
CREATE OR REPLACE FUNCTION londiste.global_add_table(
    in i_queue_name     text,
    in i_table_name     text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_table_name);
    v_combined text;
BEGIN
    SELECT n.combined_queue INTO v_combined
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 400;
        ret_note := 'No such queue: ' || i_queue_name;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM londiste.table_info t
                WHERE t.queue_name = i_queue_name AND t.table_name = v_fq) THEN
        ret_code := 200;
        ret_note := 'Table already added: ' || v_fq;
        RETURN;
    END IF;
    BEGIN
        INSERT INTO londiste.table_info (queue_name, table_name)
        VALUES (i_queue_name, v_fq);
    EXCEPTION WHEN unique_violation THEN
        -- the setup tool and the worker raced; the row is there
        ret_code := 200;
        ret_note := 'Table already added: ' || i_table_name;
        RETURN;
    END;
    ret_code := 200;
    ret_note := 'Table added: ' || i_table_name;
    IF v_combined IS NOT NULL THEN
        PERFORM londiste.global_add_table(v_combined, i_table_name);
    END IF;
END;
$$;

-- A table leaves the queue's set (and off a non-root node, its local use).
CREATE OR REPLACE FUNCTION londiste.global_remove_table(
    in i_queue_name text,
    in i_table_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_table_name);
BEGIN
    IF NOT pgq_node.is_root_node(i_queue_name) THEN
        PERFORM londiste.local_remove_table(i_queue_name, v_fq);
    END IF;
    DELETE FROM londiste.table_info t
     WHERE t.queue_name = i_queue_name AND t.table_name = v_fq;
    IF NOT FOUND THEN
        ret_code := 400;
        ret_note := 'Table not found: ' || v_fq;
        RETURN;
    END IF;
    ret_code := 200;
    ret_note := 'Table removed: ' || i_table_name;
END;
$$;

-- A value the root published for a sequence; applied at once where the
-- sequence is local (never moving it backwards).
CREATE OR REPLACE FUNCTION londiste.global_update_seq(
    in i_queue_name text,
    in i_seq_name text,
    in i_value int8,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_type text;
    v_fq text;
    v_local boolean;
BEGIN
    -- The node row first, as the worker's batch transaction takes it: an
    -- add-seq copying values while the worker applies update-seq events
    -- then waits its turn instead of deadlocking (its insert's key check
    -- on node_info against the worker's wait on that insert).
    SELECT n.node_type INTO v_type
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Set not found: ' || i_queue_name;
        RETURN;
    END IF;
    IF v_type = 'root' THEN
        ret_code := 402;
        ret_note := 'Must not run on root node';
        RETURN;
    END IF;
    v_fq := londiste.make_fqname(i_seq_name);
    SELECT s.local INTO v_local
      FROM londiste.seq_info s
     WHERE s.queue_name = i_queue_name AND s.seq_name = v_fq
       FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO londiste.seq_info (queue_name, seq_name, last_value)
        VALUES (i_queue_name, v_fq, i_value);
    ELSE
        UPDATE londiste.seq_info SET last_value = i_value
         WHERE queue_name = i_queue_name AND seq_name = v_fq;
        IF v_local THEN
            PERFORM pgq.seq_setval(v_fq, i_value);
        END IF;
    END IF;
    ret_code := 200;
    ret_note := 'Sequence updated';
END;
$$;

CREATE OR REPLACE FUNCTION londiste.global_remove_seq(
    in i_queue_name text,
    in i_seq_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_seq_name);
BEGIN
    DELETE FROM londiste.seq_info s
     WHERE s.queue_name = i_queue_name AND s.seq_name = v_fq;
    IF NOT FOUND THEN
        ret_code := 400;
        ret_note := 'Sequence not found: ' || v_fq;
        RETURN;
    END IF;
    IF pgq_node.is_root_node(i_queue_name) THEN
        PERFORM londiste.root_notify_change(i_queue_name, 'londiste.remove-seq', v_fq);
    END IF;
    ret_code := 200;
    ret_note := 'Sequence removed: ' || v_fq;
END;
$$;


-- ---------------------------------------------------------------------------
-- Sequences on the root
-- ---------------------------------------------------------------------------

-- Publish sequence values ahead of the real ones: when a local sequence comes
-- within i_buffer of the published value, publish real + 3 * buffer.  Nodes
-- keep their copies at the published value, so a promoted node never hands
-- out an id the old root already did.  Buffers below 10 mean the default.
CREATE OR REPLACE FUNCTION londiste.root_check_seqs(
    in i_queue_name text,
    in i_buffer int8,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_buffer int8 := CASE WHEN i_buffer IS NULL OR i_buffer < 10 THEN 10000 ELSE i_buffer END;
    v_type text;
    v_seq record;
    v_real int8;
    v_pub int8;
BEGIN
    SELECT n.node_type INTO v_type
      FROM pgq_node.node_info n
     WHERE n.queue_name = i_queue_name
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Queue not found: ' || i_queue_name;
        RETURN;
    END IF;
    IF v_type <> 'root' THEN
        ret_code := 402;
        ret_note := 'Not a root node';
        RETURN;
    END IF;
    FOR v_seq IN
        SELECT s.seq_name, s.last_value
          FROM londiste.seq_info s
         WHERE s.queue_name = i_queue_name AND s.local
         ORDER BY s.nr
    LOOP
        EXECUTE 'SELECT last_value FROM ' || londiste.quote_fqname(v_seq.seq_name) INTO v_real;
        IF v_real + v_buffer >= v_seq.last_value THEN
            v_pub := v_real + v_buffer * 3;
            PERFORM pgq.insert_event(i_queue_name, 'londiste.update-seq',
                                     v_pub::text, v_seq.seq_name, NULL, NULL, NULL);
            UPDATE londiste.seq_info SET last_value = v_pub
             WHERE queue_name = i_queue_name AND seq_name = v_seq.seq_name;
        END IF;
    END LOOP;
    ret_code := 100;
    ret_note := 'Sequences updated';
END;
$$;

CREATE OR REPLACE FUNCTION londiste.root_check_seqs(
    in i_queue_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE sql
AS $$
    SELECT f.ret_code, f.ret_note FROM londiste.root_check_seqs($1, 10000) f;
$$;


-- ---------------------------------------------------------------------------
-- Local registrations (the setup tool)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION londiste.local_add_seq(
    in i_queue_name text,
    in i_seq_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_seq_name);
    v_seq record;
    v_found boolean;
BEGIN
    IF londiste.find_seq_oid(v_fq) IS NULL THEN
        ret_code := 400;
        ret_note := 'Sequence not found: ' || v_fq;
        RETURN;
    END IF;

    SELECT s.local, s.last_value INTO v_seq
      FROM londiste.seq_info s
     WHERE s.queue_name = i_queue_name AND s.seq_name = v_fq
       FOR UPDATE;
    v_found := FOUND;

    IF pgq_node.is_root_node(i_queue_name) THEN
        IF v_found AND v_seq.local THEN
            ret_code := 201;
            ret_note := 'Sequence already added: ' || v_fq;
            RETURN;
        ELSIF v_found THEN
            UPDATE londiste.seq_info SET local = true
             WHERE queue_name = i_queue_name AND seq_name = v_fq;
        ELSE
            INSERT INTO londiste.seq_info (queue_name, seq_name, local, last_value)
            VALUES (i_queue_name, v_fq, true, 0);
        END IF;
        PERFORM londiste.root_check_seqs(i_queue_name);
    ELSE
        IF NOT v_found THEN
            ret_code := 404;
            ret_note := 'Unknown sequence: ' || v_fq;
            RETURN;
        END IF;
        IF v_seq.local THEN
            ret_code := 201;
            ret_note := 'Sequence already added: ' || v_fq;
            RETURN;
        END IF;
        UPDATE londiste.seq_info SET local = true
         WHERE queue_name = i_queue_name AND seq_name = v_fq;
        PERFORM pgq.seq_setval(v_fq, v_seq.last_value);
    END IF;
    ret_code := 200;
    ret_note := 'Sequence added: ' || v_fq;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.local_remove_seq(
    in i_queue_name text,
    in i_seq_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_seq_name);
BEGIN
    IF pgq_node.is_root_node(i_queue_name) THEN
        SELECT f.ret_code, f.ret_note INTO ret_code, ret_note
          FROM londiste.global_remove_seq(i_queue_name, v_fq) f;
        RETURN;
    END IF;
    UPDATE londiste.seq_info SET local = false
     WHERE queue_name = i_queue_name AND seq_name = v_fq AND local;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'Sequence not found: ' || v_fq;
        RETURN;
    END IF;
    ret_code := 200;
    ret_note := 'Sequence removed: ' || v_fq;
END;
$$;

-- Apply a table of the queue on this node.  i_trg_args carries trigger
-- arguments and add-table's magic words: expect_sync (no copy: state ok),
-- skip_truncate (table attribute), merge_all / no_merge (a table that several
-- part queues bring to one merge leaf), virtual_table (nothing to check or
-- trigger, no copy).  On the root the table also joins the set and a
-- londiste.add-table event tells the nodes.
CREATE OR REPLACE FUNCTION londiste.local_add_table(
    in i_queue_name     text,
    in i_table_name     text,
    in i_trg_args       text[],
    in i_table_attrs    text,
    in i_dest_table     text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_arg text;
    v_expect_sync boolean := false;
    v_merge_all boolean := false;
    v_no_merge boolean := false;
    v_virtual boolean := false;
    v_attrs text := i_table_attrs;
    v_fq text;
    v_dest text;
    v_desc text;
    v_node record;
    v_tbl record;
    v_new_state text;
    v_other record;
    v_combined text;
    v_combined_has boolean;
    v_trg record;
    v_before name;
BEGIN
    FOREACH v_arg IN ARRAY coalesce(i_trg_args, '{}'::text[]) LOOP
        IF v_arg = 'expect_sync' THEN
            v_expect_sync := true;
        ELSIF v_arg = 'skip_truncate' THEN
            v_attrs := coalesce(v_attrs || '&skip_truncate=1', 'skip_truncate=1');
        ELSIF v_arg = 'merge_all' THEN
            v_merge_all := true;
        ELSIF v_arg = 'no_merge' THEN
            v_no_merge := true;
        ELSIF v_arg = 'virtual_table' THEN
            v_virtual := true;
            v_expect_sync := true;
        END IF;
    END LOOP;

    IF v_merge_all AND v_no_merge THEN
        ret_code := 405;
        ret_note := 'Cannot use merge-all and no-merge together';
        RETURN;
    END IF;

    v_fq := londiste.make_fqname(i_table_name);
    v_dest := londiste.make_fqname(coalesce(i_dest_table, i_table_name));
    v_desc := CASE WHEN v_dest = v_fq THEN v_fq ELSE v_fq || '(' || v_dest || ')' END;

    -- the table must exist with a primary key (a merge copy's lead may have
    -- dropped the key of a shared destination for the time of the copy)
    IF NOT v_virtual THEN
        IF londiste.find_table_oid(v_dest) IS NULL THEN
            ret_code := 404;
            ret_note := 'Table does not exist: ' || v_desc;
            RETURN;
        END IF;
        IF pg_catalog.strpos(londiste.find_column_types(v_dest), 'k') < 1
           AND NOT EXISTS (
                SELECT 1
                  FROM pgq_node.node_info n_this
                  JOIN pgq_node.node_info n_other
                    ON n_other.combined_queue = n_this.combined_queue
                   AND n_other.queue_name <> n_this.queue_name
                  JOIN londiste.table_info t ON t.queue_name = n_other.queue_name
                 WHERE n_this.queue_name = i_queue_name
                   AND coalesce(t.dest_table, t.table_name) = v_dest
                   AND t.dropped_ddl IS NOT NULL)
        THEN
            ret_code := 400;
            ret_note := 'Primary key missing on table: ' || v_desc;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO v_node FROM pgq_node.get_node_info(i_queue_name);
    IF NOT FOUND OR v_node.ret_code >= 400 THEN
        ret_code := 400;
        ret_note := 'No such set: ' || i_queue_name;
        RETURN;
    END IF;

    SELECT t.merge_state, t.local, t.table_attrs INTO v_tbl
      FROM londiste.table_info t
     WHERE t.queue_name = i_queue_name AND t.table_name = v_fq;
    IF NOT FOUND THEN
        -- only the root may bring a new table into the set
        IF v_node.node_type <> 'root' THEN
            ret_code := 404;
            ret_note := 'Table not available on queue: ' || v_desc;
            RETURN;
        END IF;
        SELECT f.ret_code, f.ret_note INTO ret_code, ret_note
          FROM londiste.global_add_table(i_queue_name, i_table_name) f;
        IF ret_code <> 200 THEN
            RETURN;
        END IF;
        SELECT t.merge_state, t.local, t.table_attrs INTO v_tbl
          FROM londiste.table_info t
         WHERE t.queue_name = i_queue_name AND t.table_name = v_fq;
    END IF;

    IF v_tbl.local THEN
        IF v_tbl.table_attrs IS DISTINCT FROM v_attrs THEN
            ret_code := 410;
            ret_note := 'Table ' || v_desc || ' already added, but with different args: '
                || coalesce(v_tbl.table_attrs, '');
        ELSE
            ret_code := 200;
            ret_note := 'Table already added: ' || v_desc;
        END IF;
        RETURN;
    END IF;

    -- where the table starts: the root has the data; a leaf under a combined
    -- branch gets it through that branch; otherwise copy unless told not to
    IF v_node.node_type = 'root' THEN
        v_new_state := 'ok';
        PERFORM londiste.root_notify_change(i_queue_name, 'londiste.add-table', v_fq);
    ELSIF v_node.node_type = 'leaf' AND v_node.combined_type = 'branch' THEN
        v_new_state := 'ok';
    ELSIF v_expect_sync THEN
        v_new_state := 'ok';
    ELSE
        v_new_state := NULL;
    END IF;

    UPDATE londiste.table_info
       SET local = true,
           merge_state = v_new_state,
           table_attrs = coalesce(v_attrs, table_attrs),
           dest_table = nullif(v_dest, v_fq)
     WHERE queue_name = i_queue_name AND table_name = v_fq;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lost table: %', v_fq;
    END IF;

    IF v_node.node_type = 'leaf' AND NOT v_no_merge THEN
        -- the same destination from sibling part queues (those sharing the
        -- combined queue, or all uncombined queues here)
        FOR v_other IN
            SELECT t2.queue_name, t2.table_name, t2.local
              FROM londiste.table_info t
              JOIN pgq_node.node_info n ON n.queue_name = t.queue_name
              JOIN pgq_node.node_info n2
                ON n2.combined_queue IS NOT DISTINCT FROM n.combined_queue
              JOIN londiste.table_info t2
                ON t2.queue_name = n2.queue_name
               AND coalesce(t2.dest_table, t2.table_name) = coalesce(t.dest_table, t.table_name)
             WHERE t.queue_name = i_queue_name
               AND t.table_name = v_fq
               AND t2.queue_name <> i_queue_name
        LOOP
            IF v_other.local AND coalesce(v_new_state, 'x') <> 'ok' THEN
                ret_code := 405;
                ret_note := 'Found local table ' || v_desc || ' in queue ' || v_other.queue_name
                    || ', use remove-table first to remove all previous table subscriptions';
                RETURN;
            END IF;
            IF NOT v_merge_all AND coalesce(v_new_state, 'x') <> 'ok' THEN
                ret_code := 405;
                ret_note := 'Found multiple sources for table ' || v_desc
                    || ', use merge-all or no-merge to continue';
                RETURN;
            END IF;
            UPDATE londiste.table_info
               SET local = true,
                   merge_state = v_new_state,
                   table_attrs = coalesce(v_attrs, table_attrs)
             WHERE queue_name = v_other.queue_name AND table_name = v_other.table_name;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'lost table: % on queue %', v_other.table_name, v_other.queue_name;
            END IF;
        END LOOP;

        -- a merge leaf whose combined queue lives in this database (root or
        -- branch there) applies the table into that queue too
        SELECT n2.queue_name, t.table_name IS NOT NULL INTO v_combined, v_combined_has
          FROM pgq_node.node_info n1
          JOIN pgq_node.node_info n2 ON n2.queue_name = n1.combined_queue
          LEFT JOIN londiste.table_info t
            ON t.queue_name = n2.queue_name AND t.table_name = v_fq AND t.local
         WHERE n1.queue_name = i_queue_name
           AND n2.node_type IN ('root', 'branch');
        IF FOUND AND NOT v_combined_has THEN
            SELECT f.ret_code, f.ret_note INTO ret_code, ret_note
              FROM londiste.local_add_table(v_combined, v_fq, i_trg_args, v_attrs, v_dest) f;
            IF ret_code >= 300 THEN
                RETURN;
            END IF;
        END IF;
    END IF;

    SELECT * INTO v_trg
      FROM londiste.create_trigger(i_queue_name, v_fq, i_trg_args, v_dest, v_node.node_type);
    IF v_trg.ret_code > 299 THEN
        ret_code := v_trg.ret_code;
        ret_note := 'Trigger creation failed for table ' || v_desc || ': ' || v_trg.ret_note;
        RETURN;
    ELSIF v_trg.ret_code = 201 THEN
        ret_code := 200;
        ret_note := 'Table added with no triggers: ' || v_desc;
        RETURN;
    END IF;

    -- another row-level AFTER trigger firing before ours would let events
    -- reach the queue in a different order than the changes happened
    SELECT tg.tgname INTO v_before
      FROM pg_catalog.pg_trigger tg
     WHERE tg.tgrelid = londiste.find_table_oid(v_dest)
       AND NOT tg.tgisinternal
       AND tg.tgname < v_trg.trigger_name::name
       AND (tg.tgtype & 3) = 1
       AND NOT londiste.is_replica_func(tg.tgfoid)
       AND pg_catalog.substr(tg.tgname, 1, 10) <> '_londiste_'
       AND pg_catalog.right(tg.tgname, 7) <> '_logger'
     ORDER BY 1
     LIMIT 1;
    IF v_before IS NOT NULL THEN
        ret_code := 301;
        ret_note := 'Table added: ' || v_desc || ', but londiste trigger is not first: ' || v_before;
        RETURN;
    END IF;

    ret_code := 200;
    ret_note := 'Table added: ' || v_desc;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.local_add_table(
    in i_queue_name     text,
    in i_table_name     text,
    in i_trg_args       text[],
    in i_table_attrs    text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE sql
AS $$
    SELECT f.ret_code, f.ret_note FROM londiste.local_add_table($1, $2, $3, $4, NULL) f;
$$;

CREATE OR REPLACE FUNCTION londiste.local_add_table(
    in i_queue_name     text,
    in i_table_name     text,
    in i_trg_args       text[],
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE sql
AS $$
    SELECT f.ret_code, f.ret_note FROM londiste.local_add_table($1, $2, $3, NULL, NULL) f;
$$;

CREATE OR REPLACE FUNCTION londiste.local_add_table(
    in i_queue_name     text,
    in i_table_name     text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE sql STRICT
AS $$
    SELECT f.ret_code, f.ret_note FROM londiste.local_add_table($1, $2, NULL, NULL, NULL) f;
$$;

-- New handler attributes and the trigger arguments that go with them.
CREATE OR REPLACE FUNCTION londiste.local_change_handler(
    in i_queue_name     text,
    in i_table_name     text,
    in i_trg_args       text[],
    in i_table_attrs    text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_node record;
    v_dest text;
    v_desc text;
BEGIN
    SELECT * INTO v_node FROM pgq_node.get_node_info(i_queue_name);
    IF NOT FOUND OR v_node.ret_code >= 400 THEN
        ret_code := 400;
        ret_note := 'No such set: ' || i_queue_name;
        RETURN;
    END IF;

    SELECT f.ret_code, f.ret_note INTO ret_code, ret_note
      FROM londiste.local_set_table_attrs(i_queue_name, i_table_name, i_table_attrs) f;
    IF ret_code <> 200 THEN
        RETURN;
    END IF;

    SELECT coalesce(t.dest_table, i_table_name) INTO v_dest
      FROM londiste.table_info t
     WHERE t.queue_name = i_queue_name AND t.table_name = i_table_name AND t.local;

    SELECT f.ret_code, f.ret_note INTO ret_code, ret_note
      FROM londiste.create_trigger(i_queue_name, i_table_name, i_trg_args, v_dest, v_node.node_type) f;

    v_desc := CASE WHEN v_dest = i_table_name THEN i_table_name
                   ELSE i_table_name || '(' || v_dest || ')' END;
    IF ret_code > 299 THEN
        ret_note := 'Trigger creation failed for table ' || v_desc || ': ' || ret_note;
        RETURN;
    ELSIF ret_code = 201 THEN
        ret_code := 200;
        ret_note := 'Table handler updated with no triggers: ' || v_desc;
        RETURN;
    END IF;
    ret_code := 200;
    ret_note := 'Handler changed for table: ' || v_desc;
END;
$$;

-- Stop applying a table here: triggers go, state resets, serial sequences
-- owned by it stop being local.  An interrupted merge copy's saved DDL is put
-- back first (on an emptied table: it is not in sync anyway).  On the root the
-- table also leaves the set and the nodes hear of it.
CREATE OR REPLACE FUNCTION londiste.local_remove_table(
    in i_queue_name text,
    in i_table_name text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_table_name);
    v_qtbl text := londiste.quote_fqname(v_fq);
    v_oid oid := londiste.find_table_oid(i_table_name);
    v_tbl record;
    v_seq text;
BEGIN
    SELECT t.local, t.dropped_ddl, t.merge_state INTO v_tbl
      FROM londiste.table_info t
     WHERE t.queue_name = i_queue_name AND t.table_name = v_fq
       FOR UPDATE;
    IF NOT FOUND THEN
        ret_code := 400;
        ret_note := 'Table not found: ' || v_fq;
        RETURN;
    END IF;

    IF v_tbl.local THEN
        PERFORM londiste.drop_table_triggers(i_queue_name, v_fq);
        IF v_tbl.dropped_ddl IS NOT NULL THEN
            EXECUTE 'TRUNCATE ONLY ' || v_qtbl;
            EXECUTE v_tbl.dropped_ddl;
        END IF;
        UPDATE londiste.table_info
           SET local = false,
               custom_snapshot = NULL,
               table_attrs = NULL,
               dropped_ddl = NULL,
               merge_state = NULL,
               dest_table = NULL
         WHERE queue_name = i_queue_name AND table_name = v_fq;
        FOR v_seq IN
            SELECT n.nspname || '.' || s.relname
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_class s
                ON s.oid = pg_catalog.pg_get_serial_sequence(v_qtbl, a.attname)::regclass::oid
              JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace
             WHERE a.attrelid = v_oid
               AND a.atthasdef
               AND a.atttypid::regtype::text IN ('integer', 'bigint')
        LOOP
            PERFORM londiste.local_remove_seq(i_queue_name, v_seq);
        END LOOP;
    ELSIF NOT pgq_node.is_root_node(i_queue_name) THEN
        ret_code := 400;
        ret_note := 'Table not registered locally: ' || v_fq;
        RETURN;
    END IF;

    IF pgq_node.is_root_node(i_queue_name) THEN
        PERFORM londiste.global_remove_table(i_queue_name, v_fq);
        PERFORM londiste.root_notify_change(i_queue_name, 'londiste.remove-table', v_fq);
    END IF;
    ret_code := 200;
    ret_note := 'Table removed: ' || v_fq;
END;
$$;


-- ---------------------------------------------------------------------------
-- Table state (worker and copy processes)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION londiste.local_set_table_state(
    in i_queue_name text,
    in i_table_name text,
    in i_snapshot text,
    in i_merge_state text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_fq text := londiste.make_fqname(i_table_name);
BEGIN
    UPDATE londiste.table_info
       SET custom_snapshot = i_snapshot,
           merge_state = i_merge_state
     WHERE queue_name = i_queue_name AND table_name = v_fq AND local;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'No such table: ' || v_fq;
        RETURN;
    END IF;
    ret_code := 200;
    ret_note := 'Table ' || v_fq || ' state set to '
        || coalesce(pg_catalog.quote_literal(i_merge_state), 'NULL');
END;
$$;

-- (takes the name as stored: no schema is added)
CREATE OR REPLACE FUNCTION londiste.local_set_table_attrs(
    in i_queue_name text,
    in i_table_name text,
    in i_table_attrs text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE londiste.table_info
       SET table_attrs = i_table_attrs
     WHERE queue_name = i_queue_name AND table_name = i_table_name AND local;
    IF FOUND THEN
        ret_code := 200;
        ret_note := i_table_name || ': Table attributes stored';
    ELSE
        ret_code := 404;
        ret_note := 'no such local table: ' || i_table_name;
    END IF;
END;
$$;

-- (takes the name as stored; the table's check allows saved DDL only in
-- the copy states)
CREATE OR REPLACE FUNCTION londiste.local_set_table_struct(
    in i_queue_name text,
    in i_table_name text,
    in i_dropped_ddl text,
    out ret_code int4,
    out ret_note text)
RETURNS record
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE londiste.table_info
       SET dropped_ddl = i_dropped_ddl
     WHERE queue_name = i_queue_name AND table_name = i_table_name AND local;
    IF FOUND THEN
        ret_code := 200;
        ret_note := 'Table struct stored';
    ELSE
        ret_code := 404;
        ret_note := 'no such local table: ' || i_table_name;
    END IF;
END;
$$;


-- ---------------------------------------------------------------------------
-- EXECUTE
-- ---------------------------------------------------------------------------

-- Called first in the transaction that runs a script.  The row doubles as
-- the lock against a parallel run of the same file; a file already run
-- answers 201 and is skipped.
CREATE OR REPLACE FUNCTION londiste.execute_start(
    in i_queue_name     text,
    in i_file_name      text,
    in i_sql            text,
    in i_expect_root    boolean,
    in i_attrs          text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    v_is_root boolean := pgq_node.is_root_node(i_queue_name);
    v_rows int8;
BEGIN
    IF i_expect_root AND NOT v_is_root THEN
        ret_code := 401;
        ret_note := 'Node is not root node: ' || i_queue_name;
        RETURN;
    END IF;
    INSERT INTO londiste.applied_execute (queue_name, execute_file, execute_sql, execute_attrs)
    VALUES (i_queue_name, i_file_name, i_sql, i_attrs)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows = 0 THEN
        ret_code := 201;
        ret_note := 'EXECUTE: "' || i_file_name || '" already applied, skipping';
        RETURN;
    END IF;
    ret_code := 200;
    ret_note := 'Executing: ' || i_file_name;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.execute_start(
    in i_queue_name     text,
    in i_file_name      text,
    in i_sql            text,
    in i_expect_root    boolean,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE sql
AS $$
    SELECT f.ret_code, f.ret_note FROM londiste.execute_start($1, $2, $3, $4, NULL) f;
$$;

-- Called last in that transaction; on the root the script goes into the
-- queue as an EXECUTE event, right where its changes are.
CREATE OR REPLACE FUNCTION londiste.execute_finish(
    in i_queue_name     text,
    in i_file_name      text,
    out ret_code        int4,
    out ret_note        text)
RETURNS record
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_is_root boolean := pgq_node.is_root_node(i_queue_name);
    v_row record;
BEGIN
    SELECT e.execute_sql, e.execute_attrs INTO v_row
      FROM londiste.applied_execute e
     WHERE e.execute_file = i_file_name;
    IF NOT FOUND THEN
        ret_code := 404;
        ret_note := 'execute_file called without execute_start';
        RETURN;
    END IF;
    IF v_is_root THEN
        PERFORM pgq.insert_event(i_queue_name, 'EXECUTE', v_row.execute_sql,
                                 i_file_name, v_row.execute_attrs, NULL, NULL);
    END IF;
    ret_code := 200;
    ret_note := 'Execute finished: ' || i_file_name;
END;
$$;

-- Forget scripts run more than three months ago.
CREATE OR REPLACE FUNCTION londiste.periodic_maintenance()
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM londiste.applied_execute
     WHERE execute_time < now() - '3 months'::interval;
    RETURN 0;
END;
$$;

-- session_replication_role for roles that may not set it themselves (the
-- worker runs as londiste_writer).  Only the three known values pass.
CREATE OR REPLACE FUNCTION londiste.set_session_replication_role(val text, is_local bool)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF val IS NULL OR val NOT IN ('origin', 'replica', 'local') THEN
        RAISE EXCEPTION 'bad value for session_replication_role';
    END IF;
    PERFORM pg_catalog.set_config('session_replication_role', val, coalesce(is_local, false));
END;
$$;


-- ---------------------------------------------------------------------------
-- Foreign keys around a copy
-- ---------------------------------------------------------------------------

-- Foreign keys from or to a table, each with the statement that recreates it.
CREATE OR REPLACE FUNCTION londiste.find_table_fkeys(i_table_name text)
RETURNS SETOF londiste.pending_fkeys
LANGUAGE plpgsql STRICT STABLE
AS $$
DECLARE
    v_oid oid := londiste.find_table_oid(i_table_name);
BEGIN
    RETURN QUERY
        SELECT n1.nspname || '.' || t1.relname,
               n2.nspname || '.' || t2.relname,
               c.conname::text,
               'alter table only ' || pg_catalog.quote_ident(n1.nspname) || '.'
                   || pg_catalog.quote_ident(t1.relname)
                   || ' add constraint ' || pg_catalog.quote_ident(c.conname::text)
                   || ' ' || pg_catalog.pg_get_constraintdef(c.oid)
          FROM pg_catalog.pg_constraint c
          JOIN pg_catalog.pg_class t1 ON t1.oid = c.conrelid
          JOIN pg_catalog.pg_namespace n1 ON n1.oid = t1.relnamespace
          JOIN pg_catalog.pg_class t2 ON t2.oid = c.confrelid
          JOIN pg_catalog.pg_namespace n2 ON n2.oid = t2.relnamespace
         WHERE c.contype = 'f'
           AND (c.conrelid = v_oid OR c.confrelid = v_oid)
         ORDER BY 1, 2, 3;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.get_table_pending_fkeys(i_table_name text)
RETURNS SETOF londiste.pending_fkeys
LANGUAGE plpgsql STRICT STABLE
AS $$
BEGIN
    RETURN QUERY
        SELECT f.* FROM londiste.pending_fkeys f
         WHERE f.from_table = i_table_name OR f.to_table = i_table_name
         ORDER BY 1, 2, 3;
END;
$$;

-- Dropped foreign keys that may come back now for this queue: both tables
-- are applied here (through some queue), every copy of them is ok with its
-- snapshot filter gone, and of the queues involved this one is the owner
-- (with combined setups: the combined root's first part, the combined
-- branch; else the first queue by name), so exactly one worker restores it.
CREATE OR REPLACE FUNCTION londiste.get_valid_pending_fkeys(i_queue_name text)
RETURNS SETOF londiste.pending_fkeys
LANGUAGE plpgsql STRICT STABLE
AS $$
DECLARE
    v_fk londiste.pending_fkeys;
    v_from record;
    v_to record;
    v_owner text;
BEGIN
    FOR v_fk IN
        SELECT f.* FROM londiste.pending_fkeys f
         ORDER BY f.from_table, f.to_table, f.fkey_name
    LOOP
        SELECT count(*) AS total,
               count(*) FILTER (WHERE t.queue_name = i_queue_name) AS mine,
               count(*) FILTER (WHERE t.merge_state = 'ok' AND t.custom_snapshot IS NULL) AS ok
          INTO v_from
          FROM londiste.table_info t
         WHERE coalesce(t.dest_table, t.table_name) = v_fk.from_table AND t.local;
        SELECT count(*) AS total,
               count(*) FILTER (WHERE t.queue_name = i_queue_name) AS mine,
               count(*) FILTER (WHERE t.merge_state = 'ok' AND t.custom_snapshot IS NULL) AS ok
          INTO v_to
          FROM londiste.table_info t
         WHERE coalesce(t.dest_table, t.table_name) = v_fk.to_table AND t.local;
        CONTINUE WHEN v_from.total = 0 OR v_to.total = 0;
        CONTINUE WHEN v_from.ok < v_from.total OR v_to.ok < v_to.total;
        CONTINUE WHEN v_from.mine = 0 AND v_to.mine = 0;

        SELECT coalesce(min(t.queue_name) FILTER (WHERE c.node_type = 'root'),
                        min(c.queue_name) FILTER (WHERE c.node_type = 'branch'),
                        min(t.queue_name))
          INTO v_owner
          FROM londiste.table_info t
          JOIN pgq_node.node_info n ON n.queue_name = t.queue_name
          LEFT JOIN pgq_node.node_info c ON c.queue_name = n.combined_queue
         WHERE coalesce(t.dest_table, t.table_name) IN (v_fk.to_table, v_fk.from_table)
           AND t.local;
        IF i_queue_name = v_owner THEN
            RETURN NEXT v_fk;
        END IF;
    END LOOP;
END;
$$;

-- Drop one foreign key, keeping its definition in pending_fkeys; 1 if it
-- existed, else 0.
CREATE OR REPLACE FUNCTION londiste.drop_table_fkey(i_from_table text, i_fkey_name text)
RETURNS integer
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fk record;
BEGIN
    SELECT f.* INTO v_fk
      FROM londiste.find_table_fkeys(i_from_table) f
     WHERE f.fkey_name = i_fkey_name AND f.from_table = i_from_table;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    INSERT INTO londiste.pending_fkeys (from_table, to_table, fkey_name, fkey_def)
    VALUES (v_fk.from_table, v_fk.to_table, i_fkey_name, v_fk.fkey_def);
    EXECUTE 'alter table only ' || londiste.quote_fqname(v_fk.from_table)
        || ' drop constraint ' || pg_catalog.quote_ident(i_fkey_name);
    RETURN 1;
END;
$$;

-- Bring a dropped foreign key back.  At once, or (i_lazy) one step per call
-- for the caller to run in its own transaction: the key as NOT VALID, then
-- its validation, then '' once the pending row is gone.
CREATE OR REPLACE FUNCTION londiste.restore_table_fkey(i_from_table text, i_fkey_name text, i_lazy boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_fk record;
    v_valid boolean;
BEGIN
    SELECT f.* INTO v_fk
      FROM londiste.pending_fkeys f
     WHERE f.fkey_name = i_fkey_name AND f.from_table = i_from_table
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN '';
    END IF;
    IF i_lazy THEN
        SELECT c.convalidated INTO v_valid
          FROM pg_catalog.pg_constraint c
         WHERE c.contype = 'f'
           AND c.conrelid = londiste.find_table_oid(i_from_table)
           AND c.conname = i_fkey_name;
        IF NOT FOUND THEN
            RETURN v_fk.fkey_def || ' not valid';
        ELSIF NOT v_valid THEN
            RETURN 'alter table only ' || londiste.quote_fqname(v_fk.from_table)
                || ' validate constraint ' || pg_catalog.quote_ident(v_fk.fkey_name);
        END IF;
    ELSE
        EXECUTE v_fk.fkey_def;
    END IF;
    DELETE FROM londiste.pending_fkeys
     WHERE fkey_name = v_fk.fkey_name AND from_table = v_fk.from_table;
    RETURN '';
END;
$$;


-- ---------------------------------------------------------------------------
-- Partitions for the dispatch handler
-- ---------------------------------------------------------------------------

-- Create a child of i_table named i_part (unless it exists: 0) with the
-- parent's columns, defaults, constraints and indexes, its owner, grants,
-- triggers and rules, and with i_part_field a check keeping rows inside the
-- period holding i_part_time.  table_info's lock serialises concurrent
-- creators without blocking writes to the parent.  Returns 1 when created.
CREATE OR REPLACE FUNCTION londiste.create_partition(
    i_table text,
    i_part  text,
    i_pkeys text,
    i_part_field text,
    i_part_time timestamptz,
    i_part_period text)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    v_parent record;
    v_child record;
    v_qparent text;
    v_qpart text;
    v_parent_oid oid;
    v_owner name;
    v_start timestamptz;
    v_end timestamptz;
    g record;
    tg record;
    r record;
    v_def text;
    v_pos int4;
    v_pat text;
    v_extra text;
BEGIN
    IF i_table IS NULL OR i_part IS NULL THEN
        RAISE EXCEPTION 'need table and part';
    END IF;
    SELECT * INTO v_parent FROM londiste.split_fqname(i_table);
    SELECT * INTO v_child FROM londiste.split_fqname(i_part);
    v_qparent := pg_catalog.quote_ident(v_parent.schema_part) || '.' || pg_catalog.quote_ident(v_parent.name_part);
    v_qpart := pg_catalog.quote_ident(v_child.schema_part) || '.' || pg_catalog.quote_ident(v_child.name_part);

    LOCK TABLE londiste.table_info IN SHARE UPDATE EXCLUSIVE MODE;
    v_parent_oid := v_qparent::regclass::oid;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = v_child.schema_part AND c.relname = v_child.name_part) THEN
        RETURN 0;
    END IF;

    EXECUTE 'create table ' || v_qpart || ' (like ' || v_qparent || ' including all) inherits ('
        || v_qparent || ')';

    SELECT o.rolname INTO v_owner
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
     WHERE c.oid = v_parent_oid;
    IF v_owner <> current_user THEN
        EXECUTE 'alter table ' || v_qpart || ' owner to ' || pg_catalog.quote_ident(v_owner);
    END IF;

    IF i_part_field <> '' THEN
        v_start := pg_catalog.date_trunc(i_part_period, i_part_time);
        v_end := v_start + ('1 ' || i_part_period)::interval;
        EXECUTE 'alter table ' || v_qpart || ' add check ('
            || pg_catalog.quote_ident(i_part_field) || ' >= '
            || pg_catalog.quote_literal(pg_catalog.to_char(v_start, 'YYYY-MM-DD HH24:MI:SS'))
            || ' and ' || pg_catalog.quote_ident(i_part_field) || ' < '
            || pg_catalog.quote_literal(pg_catalog.to_char(v_end, 'YYYY-MM-DD HH24:MI:SS')) || ')';
    END IF;

    FOR g IN
        SELECT p.grantee, p.privilege_type, p.is_grantable
          FROM information_schema.table_privileges p
         WHERE p.table_schema = v_parent.schema_part AND p.table_name = v_parent.name_part
    LOOP
        EXECUTE 'grant ' || g.privilege_type || ' on ' || v_qpart || ' to '
            || CASE WHEN g.grantee = 'PUBLIC' THEN 'public' ELSE pg_catalog.quote_ident(g.grantee) END
            || CASE WHEN g.is_grantable = 'YES' THEN ' with grant option' ELSE '' END;
    END LOOP;

    -- triggers: the parent's definition with the child put in the ON clause
    -- (pg_get_triggerdef names the table schema-qualified)
    v_pat := ' ON ' || v_qparent || ' ';
    FOR tg IN
        SELECT t.tgname, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid) AS def
          FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = v_parent_oid AND NOT t.tgisinternal
         ORDER BY t.tgname
    LOOP
        v_pos := pg_catalog.strpos(tg.def, v_pat);
        IF v_pos = 0 THEN
            RAISE EXCEPTION 'Failed to reconstruct the trigger: %', tg.def;
        END IF;
        EXECUTE pg_catalog.substr(tg.def, 1, v_pos - 1) || ' ON ' || v_qpart || ' '
            || pg_catalog.substr(tg.def, v_pos + pg_catalog.length(v_pat));
        v_extra := CASE tg.tgenabled WHEN 'O' THEN NULL
                                     WHEN 'D' THEN ' DISABLE TRIGGER '
                                     WHEN 'A' THEN ' ENABLE ALWAYS TRIGGER '
                                     WHEN 'R' THEN ' ENABLE REPLICA TRIGGER '
                                     ELSE 'x' END;
        IF v_extra = 'x' THEN
            RAISE EXCEPTION 'Unknown trigger mode: %', tg.tgenabled;
        ELSIF v_extra IS NOT NULL THEN
            EXECUTE 'ALTER TABLE ' || v_qpart || v_extra || pg_catalog.quote_ident(tg.tgname);
        END IF;
    END LOOP;

    -- rules: the parent's definition with the child as the TO target
    -- (pg_get_ruledef names it schema-qualified; older servers as regclass
    -- output does)
    FOR r IN
        SELECT w.rulename, w.ev_enabled, pg_catalog.pg_get_ruledef(w.oid) AS def
          FROM pg_catalog.pg_rewrite w
         WHERE w.ev_class = v_parent_oid AND w.rulename <> '_RETURN'
         ORDER BY w.rulename
    LOOP
        v_pat := ' TO ' || v_qparent || ' ';
        v_pos := pg_catalog.strpos(r.def, v_pat);
        IF v_pos = 0 THEN
            v_pat := ' TO ' || v_parent_oid::regclass::text || ' ';
            v_pos := pg_catalog.strpos(r.def, v_pat);
        END IF;
        IF v_pos = 0 THEN
            RAISE EXCEPTION 'failed to find original table name';
        END IF;
        EXECUTE pg_catalog.substr(r.def, 1, v_pos - 1) || ' TO ' || v_qpart || ' '
            || pg_catalog.substr(r.def, v_pos + pg_catalog.length(v_pat));
        v_extra := CASE r.ev_enabled WHEN 'O' THEN NULL
                                     WHEN 'R' THEN ' ENABLE REPLICA RULE '
                                     WHEN 'A' THEN ' ENABLE ALWAYS RULE '
                                     WHEN 'D' THEN ' DISABLE RULE '
                                     ELSE 'x' END;
        IF v_extra = 'x' THEN
            RAISE EXCEPTION 'unknown rule option: %', r.ev_enabled;
        ELSIF v_extra IS NOT NULL THEN
            EXECUTE 'ALTER TABLE ' || v_qpart || v_extra || pg_catalog.quote_ident(r.rulename);
        END IF;
    END LOOP;
    RETURN 1;
END;
$$;

-- The name suffix pattern and date format of a partition period.
-- (internal to the three functions below; not part of the original API)
CREATE OR REPLACE FUNCTION londiste._partition_suffix(
    in i_partition_period text,
    out suffix_re text,
    out date_fmt text)
RETURNS record
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF i_partition_period IN ('year', 'yearly') THEN
        suffix_re := '_[0-9]{4}';               date_fmt := '_YYYY';
    ELSIF i_partition_period IN ('month', 'monthly') THEN
        suffix_re := '_[0-9]{4}_[0-9]{2}';      date_fmt := '_YYYY_MM';
    ELSIF i_partition_period IN ('day', 'daily') THEN
        suffix_re := '_[0-9]{4}_[0-9]{2}_[0-9]{2}';  date_fmt := '_YYYY_MM_DD';
    ELSIF i_partition_period IN ('hour', 'hourly') THEN
        suffix_re := '_[0-9]{4}_[0-9]{2}_[0-9]{2}_[0-9]{2}';  date_fmt := '_YYYY_MM_DD_HH24';
    ELSE
        RAISE EXCEPTION 'not supported i_partition_period: %', i_partition_period;
    END IF;
END;
$$;

-- Whether a date-suffixed partition name is older than the retention period
-- (NULL when the name has no suffix of that period).
CREATE OR REPLACE FUNCTION londiste.is_obsolete_partition(
    in i_partition_table text,
    in i_retention_period interval,
    in i_partition_period text)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_fmt record;
    v_base text;
BEGIN
    SELECT * INTO v_fmt FROM londiste._partition_suffix(i_partition_period);
    v_base := substring(i_partition_table FROM '^(.+)' || v_fmt.suffix_re || '$');
    IF v_base IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN i_partition_table < v_base || pg_catalog.to_char(now() - i_retention_period, v_fmt.date_fmt);
END;
$$;

-- Quoted names of a parent's date-suffixed partitions older than the
-- retention period.  The parent's name is matched literally.
CREATE OR REPLACE FUNCTION londiste.list_obsolete_partitions(
    in i_parent_table text,
    in i_retention_period interval,
    in i_partition_period text)
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    v_fmt record;
    v_schema text := pg_catalog.split_part(i_parent_table, '.', 1);
    v_table text := pg_catalog.split_part(i_parent_table, '.', 2);
BEGIN
    SELECT * INTO v_fmt FROM londiste._partition_suffix(i_partition_period);
    IF v_table = '' THEN
        v_table := v_schema;
        v_schema := 'public';
    END IF;
    RETURN QUERY
        SELECT pg_catalog.quote_ident(t.schemaname::text) || '.' || pg_catalog.quote_ident(t.tablename::text)
          FROM pg_catalog.pg_tables t
         WHERE t.schemaname = v_schema
           AND pg_catalog.left(t.tablename, pg_catalog.length(v_table)) = v_table
           AND pg_catalog.substr(t.tablename, pg_catalog.length(v_table) + 1) ~ ('^' || v_fmt.suffix_re || '$')
           AND t.tablename < v_table || pg_catalog.to_char(now() - i_retention_period, v_fmt.date_fmt)
         ORDER BY 1;
END;
$$;

CREATE OR REPLACE FUNCTION londiste.drop_obsolete_partitions(
    in i_parent_table text,
    in i_retention_period interval,
    in i_partition_period text)
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    v_part text;
BEGIN
    FOR v_part IN
        SELECT p FROM londiste.list_obsolete_partitions(i_parent_table, i_retention_period, i_partition_period) p
    LOOP
        EXECUTE 'drop table ' || v_part;
        RETURN NEXT v_part;
    END LOOP;
END;
$$;


-- ---------------------------------------------------------------------------
-- Conflict handling for the multimaster handler (skydeck addition)
-- ---------------------------------------------------------------------------

-- One urlencoded value (%XX escapes, '+' for space) as text; NULL stays NULL.
CREATE OR REPLACE FUNCTION londiste._url_decode(i_value text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_out bytea := '';
    v_s text;
    v_pos int4 := 1;
    v_next int4;
BEGIN
    IF i_value IS NULL THEN
        RETURN NULL;
    END IF;
    v_s := replace(i_value, '+', ' ');
    LOOP
        v_next := strpos(substr(v_s, v_pos), '%');
        IF v_next = 0 THEN
            v_out := v_out || convert_to(substr(v_s, v_pos), 'UTF8');
            EXIT;
        END IF;
        v_out := v_out || convert_to(substr(v_s, v_pos, v_next - 1), 'UTF8')
                       || decode(substr(v_s, v_pos + v_next, 2), 'hex');
        v_pos := v_pos + v_next + 2;
    END LOOP;
    RETURN convert_from(v_out, 'UTF8');
END;
$$;

-- A logutriga row event applied unless the local row is newer: the
-- multimaster handler calls this (as applyfn) for every event.  Takes the
-- applyfn arguments; i_fn_conf is urlencoded: timefield=COL (required),
-- altpk=COL,COL (an alternative key: a local row matching it but not the
-- primary key is deleted first), fkey_ref_table=T with fkey_cols=C,C and
-- fkey_ref_cols=C,C (skip the event while the parent row is missing).
-- An insert of an existing key updates it, an update of a missing key
-- inserts it; the row with the later timefield wins.  Returns what it did;
-- 'IGN:...' when the event was skipped.
CREATE OR REPLACE FUNCTION londiste.merge_on_time(
    i_fn_conf text, i_cur_tick text, i_ev_id text, i_ev_time text,
    i_ev_txid text, i_ev_retry text, i_ev_type text, i_ev_data text,
    i_ev_extra1 text, i_ev_extra2 text, i_ev_extra3 text, i_ev_extra4 text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_conf jsonb := '{}';
    v_row jsonb := '{}';
    v_kv text;
    v_cmd text;
    v_pkeys text[];
    v_altpk text[];
    v_tbl text;
    v_timefield text;
    v_log text := 'data ok';
    v_old jsonb;
    v_newer boolean;
    v_cols text[];
    v_match text;
    v_sql text;
BEGIN
    IF i_ev_type IS NULL OR i_ev_type !~ '^[IUD]:.' THEN
        RAISE EXCEPTION 'merge_on_time: unsupported event type %; needs logutriga events with a primary key (I:pk, U:pk, D:pk)', quote_nullable(i_ev_type);
    END IF;
    v_cmd := substr(i_ev_type, 1, 1);
    v_pkeys := string_to_array(substr(i_ev_type, 3), ',');
    FOREACH v_kv IN ARRAY coalesce(string_to_array(i_fn_conf, '&'), '{}') LOOP
        v_conf := v_conf || jsonb_build_object(londiste._url_decode(split_part(v_kv, '=', 1)),
                                               londiste._url_decode(substr(v_kv, strpos(v_kv, '=') + 1)));
    END LOOP;
    FOREACH v_kv IN ARRAY coalesce(string_to_array(i_ev_data, '&'), '{}') LOOP
        IF strpos(v_kv, '=') = 0 THEN
            v_row := v_row || jsonb_build_object(londiste._url_decode(v_kv), NULL::text);
        ELSE
            v_row := v_row || jsonb_build_object(londiste._url_decode(split_part(v_kv, '=', 1)),
                                                 londiste._url_decode(substr(v_kv, strpos(v_kv, '=') + 1)));
        END IF;
    END LOOP;
    v_timefield := v_conf->>'timefield';
    IF v_timefield IS NULL THEN
        RAISE EXCEPTION 'merge_on_time: the handler conf has no timefield=COLUMN';
    END IF;
    IF NOT v_row ? v_timefield THEN
        RAISE EXCEPTION 'merge_on_time: event % has no column % (timefield)', i_ev_id, v_timefield;
    END IF;
    v_tbl := londiste.quote_fqname(i_ev_extra1);
    IF v_conf ? 'altpk' THEN
        v_altpk := string_to_array(v_conf->>'altpk', ',');
    END IF;

    -- the parent row must exist
    IF v_conf->>'fkey_ref_table' IS NOT NULL THEN
        SELECT string_agg(format('p.%I = (r).%I', rc, c), ' AND ')
          INTO v_match
          FROM unnest(string_to_array(v_conf->>'fkey_cols', ','),
                      string_to_array(v_conf->>'fkey_ref_cols', ',')) AS k(c, rc);
        EXECUTE format('SELECT true FROM ONLY %s p, (SELECT jsonb_populate_record(NULL::%s, $1) AS r) x WHERE %s LIMIT 1',
                       londiste.quote_fqname(v_conf->>'fkey_ref_table'), v_tbl, v_match)
           INTO v_newer USING v_row;
        IF v_newer IS NULL THEN
            RETURN 'IGN: parent row does not exist';
        END IF;
        v_log := v_log || ', fkey ok';
    END IF;

    -- the local row, by the alternative key or the primary key
    SELECT string_agg(format('t.%I = (r).%I', k, k), ' AND ')
      INTO v_match FROM unnest(coalesce(v_altpk, v_pkeys)) k;
    EXECUTE format('SELECT to_jsonb(t), (jsonb_populate_record(NULL::%s, $1)).%I > t.%I'
                   ' FROM ONLY %s t, (SELECT jsonb_populate_record(NULL::%s, $1) AS r) x'
                   ' WHERE %s FOR UPDATE OF t',
                   v_tbl, v_timefield, v_timefield, v_tbl, v_tbl, v_match)
       INTO v_old, v_newer USING v_row;
    IF v_old IS NOT NULL AND v_altpk IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM unnest(v_pkeys) k
                    WHERE (v_old->>k) IS DISTINCT FROM (v_row->>k)) THEN
            SELECT string_agg(format('t.%I = (r).%I', k, k), ' AND ')
              INTO v_match FROM unnest(v_altpk) k;
            EXECUTE format('DELETE FROM ONLY %s t USING (SELECT jsonb_populate_record(NULL::%s, $1) AS r) x WHERE %s',
                           v_tbl, v_tbl, v_match) USING v_row;
            v_log := v_log || ', altpk del';
            v_old := NULL;
        ELSE
            v_log := v_log || ', altpk ok';
        END IF;
    END IF;

    IF v_old IS NOT NULL THEN
        v_log := v_log || ', old row';
        IF v_newer IS NULL THEN
            RAISE EXCEPTION 'merge_on_time: invalid timestamp in %: NULL in the event or the table', v_timefield;
        END IF;
        IF NOT v_newer THEN
            RETURN 'IGN:' || v_log || ', current row more up-to-date';
        END IF;
        v_log := v_log || ', new row better';
        IF v_cmd = 'I' THEN v_cmd := 'U'; END IF;
    ELSE
        v_log := v_log || ', no old row';
        IF v_cmd = 'U' THEN v_cmd := 'I'; END IF;
    END IF;

    SELECT string_agg(format('t.%I = (r).%I', k, k), ' AND ')
      INTO v_match FROM unnest(v_pkeys) k;
    SELECT array_agg(k ORDER BY k) INTO v_cols FROM jsonb_object_keys(v_row) k;
    IF v_cmd = 'I' THEN
        SELECT format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1) r',
                      v_tbl, string_agg(quote_ident(c), ', '),
                      string_agg('r.' || quote_ident(c), ', '), v_tbl)
          INTO v_sql FROM unnest(v_cols) c;
    ELSIF v_cmd = 'U' THEN
        SELECT format('UPDATE ONLY %s t SET %s FROM (SELECT jsonb_populate_record(NULL::%s, $1) AS r) x WHERE %s',
                      v_tbl, string_agg(format('%I = (r).%I', c, c), ', '), v_tbl, v_match)
          INTO v_sql FROM unnest(v_cols) c WHERE c <> ALL (v_pkeys);
        IF v_sql IS NULL THEN
            RETURN v_log;
        END IF;
    ELSE
        v_sql := format('DELETE FROM ONLY %s t USING (SELECT jsonb_populate_record(NULL::%s, $1) AS r) x WHERE %s',
                        v_tbl, v_tbl, v_match);
    END IF;
    EXECUTE v_sql USING v_row;
    RETURN v_log;
END;
$$;


-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------
--
-- As the original: everybody reads the tables and the name utilities;
-- londiste_reader (a downstream node on its provider) reads the lists;
-- londiste_writer (worker, setup tool) does everything; pgq_admin writes the
-- tables and runs the maintenance.  Start from nothing for these roles and
-- public, then grant.

GRANT USAGE ON SCHEMA londiste TO public;

REVOKE ALL ON TABLE londiste.table_info, londiste.seq_info, londiste.pending_fkeys,
                    londiste.applied_execute
  FROM londiste_writer, londiste_reader, public, pgq_admin CASCADE;
REVOKE ALL ON SEQUENCE londiste.table_info_nr_seq, londiste.seq_info_nr_seq
  FROM londiste_writer, londiste_reader, public, pgq_admin CASCADE;
REVOKE ALL ON FUNCTION
    londiste.skydeck_revision(),
    londiste.version(),
    londiste.upgrade_schema(),
    londiste.split_fqname(text),
    londiste.quote_fqname(text),
    londiste.make_fqname(text),
    londiste.find_rel_oid(text, text),
    londiste.find_table_oid(text),
    londiste.find_seq_oid(text),
    londiste.find_column_types(text),
    londiste.is_replica_func(oid),
    londiste.get_seq_list(text),
    londiste._coordinate_copy(text, text),
    londiste.get_table_list(text),
    londiste.local_show_missing(text),
    londiste.create_trigger(text, text, text[], text, text),
    londiste.drop_table_triggers(text, text),
    londiste.table_info_trigger(),
    londiste.root_notify_change(text, text, text),
    londiste.global_add_table(text, text),
    londiste.global_remove_table(text, text),
    londiste.global_update_seq(text, text, int8),
    londiste.global_remove_seq(text, text),
    londiste.root_check_seqs(text, int8),
    londiste.root_check_seqs(text),
    londiste.local_add_seq(text, text),
    londiste.local_remove_seq(text, text),
    londiste.local_add_table(text, text, text[], text, text),
    londiste.local_add_table(text, text, text[], text),
    londiste.local_add_table(text, text, text[]),
    londiste.local_add_table(text, text),
    londiste.local_change_handler(text, text, text[], text),
    londiste.local_remove_table(text, text),
    londiste.local_set_table_state(text, text, text, text),
    londiste.local_set_table_attrs(text, text, text),
    londiste.local_set_table_struct(text, text, text),
    londiste.execute_start(text, text, text, boolean, text),
    londiste.execute_start(text, text, text, boolean),
    londiste.execute_finish(text, text),
    londiste.periodic_maintenance(),
    londiste.set_session_replication_role(text, boolean),
    londiste.find_table_fkeys(text),
    londiste.get_table_pending_fkeys(text),
    londiste.get_valid_pending_fkeys(text),
    londiste.drop_table_fkey(text, text),
    londiste.restore_table_fkey(text, text, boolean),
    londiste.create_partition(text, text, text, text, timestamptz, text),
    londiste._partition_suffix(text),
    londiste.is_obsolete_partition(text, interval, text),
    londiste.list_obsolete_partitions(text, interval, text),
    londiste.drop_obsolete_partitions(text, interval, text),
    londiste._url_decode(text),
    londiste.merge_on_time(text, text, text, text, text, text, text, text, text, text, text, text)
  FROM londiste_writer, londiste_reader, public, pgq_admin CASCADE;

GRANT SELECT ON TABLE londiste.table_info, londiste.seq_info, londiste.pending_fkeys,
                      londiste.applied_execute
  TO londiste_reader, public;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE londiste.table_info, londiste.seq_info,
                                              londiste.pending_fkeys, londiste.applied_execute
  TO pgq_admin;
GRANT USAGE ON SEQUENCE londiste.table_info_nr_seq, londiste.seq_info_nr_seq
  TO londiste_writer;

-- anybody
GRANT EXECUTE ON FUNCTION
    londiste.skydeck_revision(),
    londiste.version(),
    londiste.split_fqname(text),
    londiste.quote_fqname(text),
    londiste.make_fqname(text),
    londiste.find_rel_oid(text, text),
    londiste.find_table_oid(text),
    londiste.find_seq_oid(text),
    londiste.find_column_types(text),
    londiste.is_replica_func(oid),
    londiste.find_table_fkeys(text),
    -- left out of the original's grant lists, so it kept the default
    londiste.local_change_handler(text, text, text[], text)
  TO public;

-- a downstream node, on its provider
GRANT EXECUTE ON FUNCTION
    londiste.get_seq_list(text),
    londiste.get_table_list(text),
    londiste._coordinate_copy(text, text)
  TO londiste_writer, londiste_reader;

-- the worker and the setup tool
GRANT EXECUTE ON FUNCTION
    londiste.upgrade_schema(),
    londiste.local_show_missing(text),
    londiste.create_trigger(text, text, text[], text, text),
    londiste.drop_table_triggers(text, text),
    londiste.table_info_trigger(),
    londiste.root_notify_change(text, text, text),
    londiste.global_add_table(text, text),
    londiste.global_remove_table(text, text),
    londiste.global_update_seq(text, text, int8),
    londiste.global_remove_seq(text, text),
    londiste.local_add_seq(text, text),
    londiste.local_remove_seq(text, text),
    londiste.local_add_table(text, text, text[], text, text),
    londiste.local_add_table(text, text, text[], text),
    londiste.local_add_table(text, text, text[]),
    londiste.local_add_table(text, text),
    londiste.local_remove_table(text, text),
    londiste.local_set_table_state(text, text, text, text),
    londiste.local_set_table_attrs(text, text, text),
    londiste.local_set_table_struct(text, text, text),
    londiste.execute_start(text, text, text, boolean, text),
    londiste.execute_start(text, text, text, boolean),
    londiste.execute_finish(text, text),
    londiste.set_session_replication_role(text, boolean),
    londiste.get_table_pending_fkeys(text),
    londiste.get_valid_pending_fkeys(text),
    londiste.drop_table_fkey(text, text),
    londiste.restore_table_fkey(text, text, boolean),
    londiste.create_partition(text, text, text, text, timestamptz, text),
    londiste._partition_suffix(text),
    londiste.is_obsolete_partition(text, interval, text),
    londiste.list_obsolete_partitions(text, interval, text),
    londiste.drop_obsolete_partitions(text, interval, text),
    londiste._url_decode(text),
    londiste.merge_on_time(text, text, text, text, text, text, text, text, text, text, text, text)
  TO londiste_writer;

-- maintenance (pgqd runs it as pgq_admin)
GRANT EXECUTE ON FUNCTION
    londiste.periodic_maintenance(),
    londiste.root_check_seqs(text),
    londiste.root_check_seqs(text, int8)
  TO londiste_writer, pgq_admin;
