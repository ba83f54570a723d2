-- skydeck: PgQ core (schema pgq) in plain SQL and PL/pgSQL.
--
-- A drop-in replacement for the C extension pgq 3.5: the same tables, function
-- signatures, result columns, error texts, roles and grants, so Skytools 3
-- clients (pgqd, python-pgq, pgq_node, londiste) work against it unchanged.
-- The event triggers (logutriga, sqltriga, jsontriga) live in pgq_triggers.sql.
--
-- The revision marker below and pgq.skydeck_revision() are bumped together
-- whenever this file changes in a way installed databases must receive.
-- skydeck-revision: 1
--
-- This file is one idempotent install-and-upgrade script: it can be fed to
-- `psql -f` or run by `skydeck install` inside a single transaction with the
-- simple query protocol.  It therefore uses no psql meta-commands, no
-- transaction control and nothing that cannot run inside a transaction.
-- Re-running it on a current database changes nothing but function bodies.

-- Refuse what we must not overwrite, then make sure the schema exists and is
-- marked as ours before anything else, so a half-finished `psql -f` run is still
-- recognised as a skydeck install when it is repeated.
DO $install_guard$
DECLARE
    v_rev int4;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgq') THEN
        RAISE EXCEPTION 'skydeck: the C extension pgq is installed in this database; skydeck''s pgq is its plain-SQL replacement and is not installed over it'
            USING HINT = 'Stop consumers and the ticker, drain the queues, DROP EXTENSION pgq CASCADE, then install again.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'pgq' AND p.proname = 'skydeck_revision'
                  AND p.pronargs = 0)
    THEN
        EXECUTE 'SELECT pgq.skydeck_revision()' INTO v_rev;
        IF v_rev > 1 THEN
            RAISE EXCEPTION 'skydeck: pgq revision % is installed, newer than revision 1 carried by this script; downgrades are not supported', v_rev;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgq') THEN
        CREATE SCHEMA pgq;
    END IF;
END
$install_guard$;

-- Which revision of this file the database carries (the installer compares it
-- with the one embedded in the binary).
CREATE OR REPLACE FUNCTION pgq.skydeck_revision()
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT 1 $$;


-- ---------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------

-- Created only when missing: roles are cluster-wide and may already exist from
-- another database's install.  pgq_admin must be able to do what readers and
-- writers do, hence the memberships.
DO $roles$
BEGIN
    -- Installs into several databases of one cluster may run at the same
    -- time and race here; the loser of a race finds the role made and moves on.
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_reader') THEN
            CREATE ROLE pgq_reader;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_writer') THEN
            CREATE ROLE pgq_writer;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_admin') THEN
            CREATE ROLE pgq_admin;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                        WHERE m.roleid = 'pgq_reader'::regrole AND m.member = 'pgq_admin'::regrole) THEN
            GRANT pgq_reader TO pgq_admin;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                        WHERE m.roleid = 'pgq_writer'::regrole AND m.member = 'pgq_admin'::regrole) THEN
            GRANT pgq_writer TO pgq_admin;
        END IF;
    EXCEPTION WHEN unique_violation THEN NULL;
    END;
END
$roles$;


-- ---------------------------------------------------------------------------
-- Tables and sequences
-- ---------------------------------------------------------------------------

-- Everything is created only when missing, inside one block so that a re-run
-- is silent.  Names of tables, sequences, constraints and indexes are those of
-- the C extension: tools and operators refer to them.
DO $structure$
BEGIN
    IF pg_catalog.to_regclass('pgq.consumer') IS NULL THEN
        CREATE TABLE pgq.consumer (
            co_id       serial,
            co_name     text        NOT NULL,
            CONSTRAINT consumer_pkey PRIMARY KEY (co_id),
            CONSTRAINT consumer_name_uq UNIQUE (co_name)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq.queue') IS NULL THEN
        CREATE TABLE pgq.queue (
            queue_id                    serial,
            queue_name                  text        NOT NULL,
            queue_ntables               integer     NOT NULL DEFAULT 3,
            queue_cur_table             integer     NOT NULL DEFAULT 0,
            queue_rotation_period       interval    NOT NULL DEFAULT '2 hours',
            queue_switch_step1          bigint      NOT NULL DEFAULT txid_current(),
            queue_switch_step2          bigint               DEFAULT txid_current(),
            queue_switch_time           timestamptz NOT NULL DEFAULT now(),
            queue_external_ticker       boolean     NOT NULL DEFAULT false,
            queue_disable_insert        boolean     NOT NULL DEFAULT false,
            queue_ticker_paused         boolean     NOT NULL DEFAULT false,
            queue_ticker_max_count      integer     NOT NULL DEFAULT 500,
            queue_ticker_max_lag        interval    NOT NULL DEFAULT '3 seconds',
            queue_ticker_idle_period    interval    NOT NULL DEFAULT '1 minute',
            queue_per_tx_limit          integer,
            queue_data_pfx              text        NOT NULL,
            queue_event_seq             text        NOT NULL,
            queue_tick_seq              text        NOT NULL,
            queue_extra_maint           text[],
            CONSTRAINT queue_pkey PRIMARY KEY (queue_id),
            CONSTRAINT queue_name_uq UNIQUE (queue_name)
        );
    END IF;
    -- databases installed by pgq 3.2 and older lack this column
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'pgq.queue'::regclass
                      AND attname = 'queue_extra_maint' AND NOT attisdropped) THEN
        ALTER TABLE pgq.queue ADD COLUMN queue_extra_maint text[];
    END IF;

    IF pg_catalog.to_regclass('pgq.tick') IS NULL THEN
        CREATE TABLE pgq.tick (
            tick_queue                  int4            NOT NULL,
            tick_id                     bigint          NOT NULL,
            tick_time                   timestamptz     NOT NULL DEFAULT now(),
            tick_snapshot               txid_snapshot   NOT NULL DEFAULT txid_current_snapshot(),
            tick_event_seq              bigint          NOT NULL,
            CONSTRAINT tick_pkey PRIMARY KEY (tick_queue, tick_id),
            CONSTRAINT tick_queue_fkey FOREIGN KEY (tick_queue)
                REFERENCES pgq.queue (queue_id)
        );
    END IF;

    IF pg_catalog.to_regclass('pgq.batch_id_seq') IS NULL THEN
        CREATE SEQUENCE pgq.batch_id_seq;
    END IF;

    IF pg_catalog.to_regclass('pgq.subscription') IS NULL THEN
        CREATE TABLE pgq.subscription (
            sub_id                      serial      NOT NULL,
            sub_queue                   int4        NOT NULL,
            sub_consumer                int4        NOT NULL,
            sub_last_tick               bigint,
            sub_active                  timestamptz NOT NULL DEFAULT now(),
            sub_batch                   bigint,
            sub_next_tick               bigint,
            CONSTRAINT subscription_pkey PRIMARY KEY (sub_queue, sub_consumer),
            CONSTRAINT subscription_batch_idx UNIQUE (sub_batch),
            CONSTRAINT sub_queue_fkey FOREIGN KEY (sub_queue)
                REFERENCES pgq.queue (queue_id),
            CONSTRAINT sub_consumer_fkey FOREIGN KEY (sub_consumer)
                REFERENCES pgq.consumer (co_id)
        );
    END IF;
    -- old installs had it NOT NULL; cooperative subconsumers need NULL here
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                WHERE attrelid = 'pgq.subscription'::regclass
                  AND attname = 'sub_last_tick' AND attnotnull) THEN
        ALTER TABLE pgq.subscription ALTER COLUMN sub_last_tick DROP NOT NULL;
    END IF;

    IF pg_catalog.to_regclass('pgq.event_template') IS NULL THEN
        CREATE TABLE pgq.event_template (
            ev_id               bigint          NOT NULL,
            ev_time             timestamptz     NOT NULL,
            ev_txid             bigint          NOT NULL DEFAULT txid_current(),
            ev_owner            int4,
            ev_retry            int4,
            ev_type             text,
            ev_data             text,
            ev_extra1           text,
            ev_extra2           text,
            ev_extra3           text,
            ev_extra4           text
        );
    END IF;

    IF pg_catalog.to_regclass('pgq.retry_queue') IS NULL THEN
        CREATE TABLE pgq.retry_queue (
            ev_retry_after      timestamptz     NOT NULL,
            ev_queue            int4            NOT NULL,
            LIKE pgq.event_template,
            CONSTRAINT rq_pkey PRIMARY KEY (ev_owner, ev_id),
            CONSTRAINT rq_queue_id_fkey FOREIGN KEY (ev_queue)
                REFERENCES pgq.queue (queue_id)
        );
        -- a retried event always has an owner, and its txid is assigned anew
        -- when it goes back into the queue
        ALTER TABLE pgq.retry_queue ALTER COLUMN ev_owner SET NOT NULL;
        ALTER TABLE pgq.retry_queue ALTER COLUMN ev_txid DROP NOT NULL;
        CREATE INDEX rq_retry_idx ON pgq.retry_queue (ev_retry_after);
    END IF;
END
$structure$;


-- ---------------------------------------------------------------------------
-- Small utilities
-- ---------------------------------------------------------------------------

-- Quote 'schema.name' for use in SQL text.  Only the first dot separates the
-- schema; a name without one lives in public.
CREATE OR REPLACE FUNCTION pgq.quote_fqname(i_name text)
RETURNS text
LANGUAGE plpgsql STRICT IMMUTABLE
AS $$
DECLARE
    v_dot int4 := pg_catalog.strpos(i_name, '.');
BEGIN
    IF v_dot > 0 THEN
        RETURN pg_catalog.quote_ident(pg_catalog.substr(i_name, 1, v_dot - 1))
            || '.' || pg_catalog.quote_ident(pg_catalog.substr(i_name, v_dot + 1));
    END IF;
    RETURN 'public.' || pg_catalog.quote_ident(i_name);
END;
$$;

-- Read a sequence's last_value without advancing it (nextval would, and
-- currval needs a nextval in this session first).
CREATE OR REPLACE FUNCTION pgq.seq_getval(i_seq_name text)
RETURNS bigint
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_val int8;
BEGIN
    EXECUTE 'SELECT last_value FROM ' || pgq.quote_fqname(i_seq_name) INTO v_val;
    RETURN v_val;
END;
$$;

-- Move a sequence forward to i_new_value; never moves it back.  Returns the
-- value the sequence ends up at.
CREATE OR REPLACE FUNCTION pgq.seq_setval(i_seq_name text, i_new_value int8)
RETURNS bigint
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_cur int8 := pgq.seq_getval(i_seq_name);
BEGIN
    IF v_cur < i_new_value THEN
        PERFORM pg_catalog.setval(pgq.quote_fqname(i_seq_name)::regclass, i_new_value);
        RETURN i_new_value;
    END IF;
    RETURN v_cur;
END;
$$;

-- The API version implemented (pgqd only checks that it starts with 3 or more).
CREATE OR REPLACE FUNCTION pgq.version()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN '3.5.2';
END;
$$;

-- Structure fixes for databases installed by older versions; kept callable
-- because old tooling calls it.  The install script does the same work.
CREATE OR REPLACE FUNCTION pgq.upgrade_schema()
RETURNS int4
LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                WHERE attrelid = 'pgq.subscription'::regclass
                  AND attname = 'sub_last_tick' AND attnotnull) THEN
        ALTER TABLE pgq.subscription ALTER COLUMN sub_last_tick DROP NOT NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_reader') THEN
        CREATE ROLE pgq_reader;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_writer') THEN
        CREATE ROLE pgq_writer;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pgq_admin') THEN
        CREATE ROLE pgq_admin IN ROLE pgq_reader, pgq_writer;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                    WHERE attrelid = 'pgq.queue'::regclass
                      AND attname = 'queue_extra_maint' AND NOT attisdropped) THEN
        ALTER TABLE pgq.queue ADD COLUMN queue_extra_maint text[];
    END IF;
    RETURN 0;
END;
$$;


-- ---------------------------------------------------------------------------
-- Per-queue storage and permissions
-- ---------------------------------------------------------------------------

-- Copy the table privileges of one table to another (used to give every
-- queue's data tables the privileges set on pgq.event_template).  Owner rows
-- are copied too, which is how the original behaves.
CREATE OR REPLACE FUNCTION pgq._grant_perms_from(src_schema text, src_table text, dst_schema text, dst_table text)
RETURNS integer
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    v_dst text := pg_catalog.quote_ident(dst_schema) || '.' || pg_catalog.quote_ident(dst_table);
    r record;
BEGIN
    FOR r IN
        SELECT p.privilege_type, p.grantee, p.is_grantable
          FROM information_schema.table_privileges p
         WHERE p.table_schema = src_schema
           AND p.table_name = src_table
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s',
            r.privilege_type, v_dst,
            CASE WHEN r.grantee = 'PUBLIC' THEN 'public' ELSE pg_catalog.quote_ident(r.grantee) END,
            CASE WHEN r.is_grantable = 'YES' THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    RETURN 1;
END;
$$;

-- Give a queue's sequences and data tables the standard privileges.
CREATE OR REPLACE FUNCTION pgq.grant_perms(x_queue_name text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
    v_dot int4;
    v_schema text;
    v_table text;
BEGIN
    SELECT * INTO q FROM pgq.queue WHERE queue_name = x_queue_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Queue not found';
    END IF;

    v_dot := strpos(q.queue_data_pfx, '.');
    IF v_dot > 0 THEN
        v_schema := substr(q.queue_data_pfx, 1, v_dot - 1);
        v_table := substr(q.queue_data_pfx, v_dot + 1);
    ELSE
        v_schema := 'public';
        v_table := q.queue_data_pfx;
    END IF;

    -- anyone may look at the sequences (lag monitoring reads them); admins
    -- insert events directly, so they need to draw ids
    EXECUTE 'GRANT SELECT ON ' || pgq.quote_fqname(q.queue_tick_seq) || ' TO public';
    EXECUTE 'GRANT SELECT ON ' || pgq.quote_fqname(q.queue_event_seq) || ' TO public';
    EXECUTE 'GRANT USAGE ON ' || pgq.quote_fqname(q.queue_event_seq) || ' TO pgq_admin';

    PERFORM pgq._grant_perms_from('pgq', 'event_template', v_schema, v_table);
    FOR i IN 0 .. q.queue_ntables - 1 LOOP
        PERFORM pgq._grant_perms_from('pgq', 'event_template', v_schema, v_table || '_' || i);
    END LOOP;
    RETURN 1;
END;
$$;

-- Data tables are append-only and emptied by TRUNCATE, so pack them full and
-- keep autovacuum away.  Returns 0 for an unknown queue.
CREATE OR REPLACE FUNCTION pgq.tune_storage(i_queue_name text)
RETURNS integer
LANGUAGE plpgsql STRICT
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
BEGIN
    SELECT * INTO q FROM pgq.queue WHERE queue_name = i_queue_name;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    FOR i IN 0 .. q.queue_ntables - 1 LOOP
        EXECUTE 'ALTER TABLE ' || pgq.quote_fqname(q.queue_data_pfx || '_' || i)
            || ' SET (fillfactor = 100, autovacuum_enabled = off, toast.autovacuum_enabled = off)';
    END LOOP;
    RETURN 1;
END;
$$;


-- ---------------------------------------------------------------------------
-- Producing events
-- ---------------------------------------------------------------------------
--
-- The insert path is the one place where speed matters most.  Instead of
-- building an INSERT with the table name at run time (EXECUTE costs about half
-- again the price of the whole insert), pgq.insert_event(7 args) and
-- pgq.insert_event_raw are *generated* by pgq._insert_regen(): their bodies hold
-- one static INSERT per (queue, data table), reached through a binary IF tree
-- on queue_id, so each INSERT gets a cached plan.  The tree is rebuilt by
-- create_queue/drop_queue and at the end of every install.  A queue the
-- current body does not know (created in a transaction that has not committed
-- the rebuild yet, or by hand) takes a dynamic fallback, which is slower but
-- otherwise identical.
--
-- The generated functions have no SET clause (it would cost on every call);
-- instead every name in them is schema-qualified, operators included, since
-- insert_event runs as its owner.

-- Checks for a queue that refuses inserts or limits them per transaction.
-- Only called when one of those settings is on, so ordinary inserts never pay
-- for it.  Like the original, the event id sequence is advanced before an
-- insert is refused, so the ticker sees the attempt.
CREATE OR REPLACE FUNCTION pgq._insert_gate(i_queue_name text, i_queue_id int4)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
    v_key text;
    v_state text;
    v_xid text;
    v_count int4 := 0;
BEGIN
    SELECT * INTO q FROM pgq.queue WHERE queue_id = i_queue_id;

    IF q.queue_disable_insert
       AND current_setting('session_replication_role') <> 'replica' THEN
        PERFORM nextval(pgq.quote_fqname(q.queue_event_seq)::regclass);
        RAISE EXCEPTION 'Insert into queue disallowed';
    END IF;

    IF q.queue_per_tx_limit IS NOT NULL THEN
        -- The count lives in a session-level custom setting tagged with the
        -- top-level transaction id: a transaction-local setting would be
        -- undone whenever the caller's function has a SET clause of its own.
        v_key := 'skydeck.pgq_tx_count_' || i_queue_id;
        v_xid := txid_current()::text;
        v_state := current_setting(v_key, true);
        IF split_part(v_state, ':', 1) = v_xid THEN
            v_count := split_part(v_state, ':', 2)::int4;
        END IF;
        v_count := v_count + 1;
        PERFORM set_config(v_key, v_xid || ':' || v_count, false);
        IF v_count > q.queue_per_tx_limit THEN
            PERFORM nextval(pgq.quote_fqname(q.queue_event_seq)::regclass);
            RAISE EXCEPTION 'Queue ''%'' allows max % events from one TX',
                i_queue_name, q.queue_per_tx_limit;
        END IF;
    END IF;
END;
$$;

-- Insert through dynamic SQL: the path for queues the generated code does not
-- know yet.  Same semantics as the static branches.
CREATE OR REPLACE FUNCTION pgq._insert_dynamic(
    i_queue_id int4, i_cur_table int4, i_ev_id bigint, i_ev_time timestamptz,
    i_ev_owner int4, i_ev_retry int4, i_ev_type text, i_ev_data text,
    i_ev_extra1 text, i_ev_extra2 text, i_ev_extra3 text, i_ev_extra4 text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
    v_id int8;
BEGIN
    SELECT * INTO q FROM pgq.queue WHERE queue_id = i_queue_id;
    v_id := nextval(pgq.quote_fqname(q.queue_event_seq)::regclass);
    IF i_ev_id IS NOT NULL THEN
        v_id := i_ev_id;
    END IF;
    EXECUTE 'INSERT INTO ' || pgq.quote_fqname(q.queue_data_pfx || '_' || i_cur_table)
        || ' (ev_id, ev_time, ev_owner, ev_retry, ev_type, ev_data,'
        || ' ev_extra1, ev_extra2, ev_extra3, ev_extra4)'
        || ' VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)'
        USING v_id, coalesce(i_ev_time, now()), i_ev_owner, i_ev_retry,
              i_ev_type, i_ev_data, i_ev_extra1, i_ev_extra2, i_ev_extra3, i_ev_extra4;
    RETURN v_id;
END;
$$;

-- Render the IF tree that maps _qid to the per-queue code in i_leaves
-- (i_ids sorted ascending; lo/hi are 1-based inclusive bounds).
CREATE OR REPLACE FUNCTION pgq._insert_regen_tree(i_ids int4[], i_leaves text[], i_lo int4, i_hi int4, i_indent text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    v_mid int4;
BEGIN
    IF i_lo > i_hi THEN
        RETURN '';
    END IF;
    IF i_lo = i_hi THEN
        RETURN i_indent || 'IF _qid OPERATOR(pg_catalog.=) ' || i_ids[i_lo] || ' THEN' || E'\n'
            || regexp_replace(i_leaves[i_lo], '^', i_indent || '    ', 'gn') || E'\n'
            || i_indent || 'END IF;' || E'\n';
    END IF;
    v_mid := (i_lo + i_hi + 1) / 2;
    RETURN i_indent || 'IF _qid OPERATOR(pg_catalog.<) ' || i_ids[v_mid] || ' THEN' || E'\n'
        || pgq._insert_regen_tree(i_ids, i_leaves, i_lo, v_mid - 1, i_indent || '    ')
        || i_indent || 'ELSE' || E'\n'
        || pgq._insert_regen_tree(i_ids, i_leaves, v_mid, i_hi, i_indent || '    ')
        || i_indent || 'END IF;' || E'\n';
END;
$$;

-- Rebuild pgq.insert_event(7 args) and pgq.insert_event_raw from the current
-- set of queues.  With i_force false (create_queue/drop_queue) a body that is
-- not ours -- someone replaced insert_event, e.g. a test stub -- is left alone.
-- Returns the number of queues compiled in.
CREATE OR REPLACE FUNCTION pgq._insert_regen(i_force boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $regen$
DECLARE
    c_marker constant text := '-- skydeck:generated';
    v_ids int4[] := '{}';
    v_ev_leaves text[] := '{}';
    v_raw_leaves text[] := '{}';
    v_ev_leaf text;
    v_raw_leaf text;
    v_tbl text;
    v_seq text;
    v_src text;
    q record;
BEGIN
    -- Two transactions replacing the same function concurrently would fail
    -- with "tuple concurrently updated"; this lock makes the second wait and
    -- then (read committed) see the first one's queue too.
    LOCK TABLE pgq.queue IN SHARE UPDATE EXCLUSIVE MODE;

    IF NOT i_force THEN
        SELECT p.prosrc INTO v_src FROM pg_proc p
         WHERE p.oid = to_regprocedure('pgq.insert_event(text,text,text,text,text,text,text)');
        IF v_src IS NOT NULL AND strpos(v_src, c_marker) = 0 THEN
            RETURN -1;
        END IF;
    END IF;

    FOR q IN
        SELECT queue_id, queue_data_pfx, queue_event_seq, queue_ntables
          FROM pgq.queue ORDER BY queue_id
    LOOP
        v_seq := quote_literal(pgq.quote_fqname(q.queue_event_seq)) || '::pg_catalog.regclass';
        v_ev_leaf := '';
        v_raw_leaf := '';
        FOR i IN 0 .. q.queue_ntables - 1 LOOP
            v_tbl := pgq.quote_fqname(q.queue_data_pfx || '_' || i);
            v_ev_leaf := v_ev_leaf
                || CASE WHEN i = 0 THEN 'IF' ELSE 'ELSIF' END
                || ' _tbl OPERATOR(pg_catalog.=) ' || i || ' THEN' || E'\n'
                || '    INSERT INTO ' || v_tbl
                || ' (ev_id, ev_time, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4)' || E'\n'
                || '    VALUES (pg_catalog.nextval(' || v_seq || '), pg_catalog.now(), $2, $3, $4, $5, $6, $7)' || E'\n'
                || '    RETURNING ev_id INTO _id;' || E'\n'
                || '    RETURN _id;' || E'\n';
            v_raw_leaf := v_raw_leaf
                || CASE WHEN i = 0 THEN 'IF' ELSE 'ELSIF' END
                || ' _tbl OPERATOR(pg_catalog.=) ' || i || ' THEN' || E'\n'
                || '    _id := pg_catalog.nextval(' || v_seq || ');' || E'\n'
                || '    IF $2 IS NOT NULL THEN _id := $2; END IF;' || E'\n'
                || '    INSERT INTO ' || v_tbl
                || ' (ev_id, ev_time, ev_owner, ev_retry, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4)' || E'\n'
                || '    VALUES (_id, COALESCE($3, pg_catalog.now()), $4, $5, $6, $7, $8, $9, $10, $11);' || E'\n'
                || '    RETURN _id;' || E'\n';
        END LOOP;
        IF q.queue_ntables > 0 THEN
            v_ev_leaf := v_ev_leaf || 'END IF;';
            v_raw_leaf := v_raw_leaf || 'END IF;';
        END IF;
        v_ids := v_ids || q.queue_id;
        v_ev_leaves := v_ev_leaves || v_ev_leaf;
        v_raw_leaves := v_raw_leaves || v_raw_leaf;
    END LOOP;

    EXECUTE format($f$
CREATE OR REPLACE FUNCTION pgq.insert_event(
    queue_name text, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
AS $body$
%s (rebuilt by pgq._insert_regen(); edits here are overwritten)
DECLARE
    _qid pg_catalog.int4;
    _tbl pg_catalog.int4;
    _slow pg_catalog.bool;
    _id pg_catalog.int8;
BEGIN
    SELECT q.queue_id, q.queue_cur_table,
           (q.queue_disable_insert OR q.queue_per_tx_limit IS NOT NULL)
      INTO _qid, _tbl, _slow
      FROM pgq.queue q
     WHERE q.queue_name OPERATOR(pg_catalog.=) $1;
    IF NOT FOUND THEN
        IF $1 IS NULL THEN
            RAISE EXCEPTION 'Queue name must not be NULL';
        END IF;
        RAISE EXCEPTION 'No such queue';
    END IF;
    IF _slow THEN
        PERFORM pgq._insert_gate($1, _qid);
    END IF;
%s
    RETURN pgq._insert_dynamic(_qid, _tbl, NULL, pg_catalog.now(), NULL, NULL,
                               $2, $3, $4, $5, $6, $7);
END;
$body$
$f$, c_marker, pgq._insert_regen_tree(v_ids, v_ev_leaves, 1, coalesce(array_length(v_ids, 1), 0), '    '));

    EXECUTE format($f$
CREATE OR REPLACE FUNCTION pgq.insert_event_raw(
    queue_name text, ev_id bigint, ev_time timestamptz,
    ev_owner integer, ev_retry integer, ev_type text, ev_data text,
    ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
RETURNS bigint
LANGUAGE plpgsql
AS $body$
%s (rebuilt by pgq._insert_regen(); edits here are overwritten)
DECLARE
    _qid pg_catalog.int4;
    _tbl pg_catalog.int4;
    _slow pg_catalog.bool;
    _id pg_catalog.int8;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'Queue name must not be NULL';
    END IF;
    SELECT q.queue_id, q.queue_cur_table,
           (q.queue_disable_insert OR q.queue_per_tx_limit IS NOT NULL)
      INTO _qid, _tbl, _slow
      FROM pgq.queue q
     WHERE q.queue_name OPERATOR(pg_catalog.=) $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No such queue';
    END IF;
    IF _slow THEN
        PERFORM pgq._insert_gate($1, _qid);
    END IF;
%s
    RETURN pgq._insert_dynamic(_qid, _tbl, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);
END;
$body$
$f$, c_marker, pgq._insert_regen_tree(v_ids, v_raw_leaves, 1, coalesce(array_length(v_ids, 1), 0), '    '));

    RETURN coalesce(array_length(v_ids, 1), 0);
END;
$regen$;

-- Placeholder bodies so that the rest of this script (and grants) can refer to
-- the generated functions on a first install; pgq._insert_regen() at the end
-- of the script replaces them.
DO $placeholders$
BEGIN
    IF pg_catalog.to_regprocedure('pgq.insert_event(text,text,text,text,text,text,text)') IS NULL THEN
        CREATE FUNCTION pgq.insert_event(
            queue_name text, ev_type text, ev_data text,
            ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
        RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
        AS 'BEGIN RAISE EXCEPTION ''pgq install incomplete''; END;';
    END IF;
    IF pg_catalog.to_regprocedure('pgq.insert_event_raw(text,bigint,timestamptz,integer,integer,text,text,text,text,text,text)') IS NULL THEN
        CREATE FUNCTION pgq.insert_event_raw(
            queue_name text, ev_id bigint, ev_time timestamptz,
            ev_owner integer, ev_retry integer, ev_type text, ev_data text,
            ev_extra1 text, ev_extra2 text, ev_extra3 text, ev_extra4 text)
        RETURNS bigint LANGUAGE plpgsql
        AS 'BEGIN RAISE EXCEPTION ''pgq install incomplete''; END;';
    END IF;
END
$placeholders$;

-- Insert an event with no extra fields.  A plain SQL function so the planner
-- inlines it into the caller: the 3-argument form costs the same as the 7.
CREATE OR REPLACE FUNCTION pgq.insert_event(queue_name text, ev_type text, ev_data text)
RETURNS bigint
LANGUAGE sql
AS $$ SELECT pgq.insert_event($1, $2, $3, NULL, NULL, NULL, NULL) $$;

-- Name of the data table currently written, for bulk COPY of events (cascade
-- workers).  Only valid until the transaction ends: rotation may switch it.
CREATE OR REPLACE FUNCTION pgq.current_event_table(x_queue_name text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_tbl text;
    v_disabled boolean;
BEGIN
    SELECT q.queue_data_pfx || '_' || q.queue_cur_table, q.queue_disable_insert
      INTO v_tbl, v_disabled
      FROM pgq.queue q
     WHERE q.queue_name = x_queue_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Event queue not found';
    END IF;
    IF v_disabled AND pg_catalog.current_setting('session_replication_role') <> 'replica' THEN
        RAISE EXCEPTION 'Writing to queue disabled';
    END IF;
    RETURN v_tbl;
END;
$$;


-- ---------------------------------------------------------------------------
-- Ticker
-- ---------------------------------------------------------------------------

-- Decide whether the queue needs a new tick now and insert it if so.  Returns
-- the new tick id, or NULL when no tick was due.  See the spec, section 1.5:
-- tick on enough events or old enough events; when idle, back off
-- exponentially up to the idle period.
CREATE OR REPLACE FUNCTION pgq.ticker(i_queue_name text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q record;
    t record;
    v_prev_gap interval;
    v_tick_id int8;
BEGIN
    SELECT queue_id, queue_tick_seq, queue_external_ticker, queue_ticker_paused,
           queue_ticker_max_count, queue_ticker_max_lag, queue_ticker_idle_period,
           pgq.seq_getval(queue_event_seq) AS event_seq
      INTO q
      FROM pgq.queue
     WHERE queue_name = i_queue_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such queue';
    END IF;
    IF q.queue_external_ticker THEN
        RAISE EXCEPTION 'This queue has external tick source.';
    END IF;
    IF q.queue_ticker_paused THEN
        RAISE EXCEPTION 'Ticker has been paused for this queue';
    END IF;

    SELECT tick_id, tick_time, tick_event_seq,
           now() - tick_time AS lag,
           q.event_seq - tick_event_seq AS new_events,
           txid_snapshot_xmin(tick_snapshot) AS sxmin,
           txid_snapshot_xmax(tick_snapshot) AS sxmax
      INTO t
      FROM pgq.tick
     WHERE tick_queue = q.queue_id
     ORDER BY tick_queue DESC, tick_id DESC
     LIMIT 1;

    IF FOUND THEN
        -- a snapshot from the future means the txid space was reset under us
        -- (e.g. a dump restored into a fresh cluster): ticks would be wrong
        IF t.sxmin > txid_current() THEN
            RAISE EXCEPTION 'Invalid PgQ state: old xmin=%, old xmax=%, cur txid=%',
                t.sxmin, t.sxmax, txid_current();
        END IF;
        IF t.new_events < 0 THEN
            RAISE WARNING 'Negative new_events?  old=% cur=%', t.tick_event_seq, q.event_seq;
        END IF;
        IF t.sxmax > txid_current() THEN
            RAISE WARNING 'Dubious PgQ state: old xmax=%, cur txid=%', t.sxmax, txid_current();
        END IF;

        IF t.new_events > 0 THEN
            IF t.new_events < q.queue_ticker_max_count
               AND t.lag < q.queue_ticker_max_lag THEN
                RETURN NULL;
            END IF;
        ELSE
            SELECT t.tick_time - p.tick_time INTO v_prev_gap
              FROM pgq.tick p
             WHERE p.tick_queue = q.queue_id
               AND p.tick_id < t.tick_id
             ORDER BY p.tick_queue DESC, p.tick_id DESC
             LIMIT 1;
            IF FOUND THEN
                IF t.lag < q.queue_ticker_max_lag / 2
                   OR (t.lag < v_prev_gap * 2 AND t.lag < q.queue_ticker_idle_period) THEN
                    RETURN NULL;
                END IF;
            END IF;
        END IF;
    END IF;

    v_tick_id := nextval(pgq.quote_fqname(q.queue_tick_seq)::regclass);
    INSERT INTO pgq.tick (tick_queue, tick_id, tick_event_seq)
    VALUES (q.queue_id, v_tick_id, q.event_seq);
    RETURN v_tick_id;
END;
$$;

-- Tick every queue that ticks itself (not external, not paused), in name
-- order.  Returns how many queues got a tick.
CREATE OR REPLACE FUNCTION pgq.ticker()
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    v_name text;
    v_count int8 := 0;
BEGIN
    FOR v_name IN
        SELECT queue_name FROM pgq.queue
         WHERE NOT queue_external_ticker AND NOT queue_ticker_paused
         ORDER BY queue_name
    LOOP
        IF pgq.ticker(v_name) > 0 THEN
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END;
$$;

-- Insert a tick that was made elsewhere (a cascade branch copies its
-- provider's ticks).  The queue's own sequences are moved up to the given
-- values so ids stay in step with the provider.
CREATE OR REPLACE FUNCTION pgq.ticker(i_queue_name text, i_tick_id bigint, i_orig_timestamp timestamptz, i_event_seq bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
BEGIN
    SELECT * INTO q FROM pgq.queue
     WHERE queue_name = i_queue_name
       AND queue_external_ticker
       AND NOT queue_ticker_paused;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue not found or ticker disabled: %', i_queue_name;
    END IF;
    INSERT INTO pgq.tick (tick_queue, tick_id, tick_time, tick_event_seq)
    VALUES (q.queue_id, i_tick_id, i_orig_timestamp, i_event_seq);
    PERFORM pgq.seq_setval(q.queue_tick_seq, i_tick_id);
    PERFORM pgq.seq_setval(q.queue_event_seq, i_event_seq);
    RETURN i_tick_id;
END;
$$;

-- Make the next ticker() run tick this queue, by pushing the event sequence
-- far enough that it looks busy.  (Calling ticker() directly would race with
-- pgqd.)  Returns the current last tick id so the caller can poll for a newer
-- one.  External and paused queues are left alone.
CREATE OR REPLACE FUNCTION pgq.force_tick(i_queue_name text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
    v_seq regclass;
    v_last int8;
BEGIN
    SELECT * INTO q FROM pgq.queue
     WHERE queue_name = i_queue_name
       AND NOT queue_external_ticker
       AND NOT queue_ticker_paused;
    IF FOUND THEN
        v_seq := pgq.quote_fqname(q.queue_event_seq)::regclass;
        PERFORM setval(v_seq, nextval(v_seq) + q.queue_ticker_max_count * 2 + 1000);
    END IF;
    SELECT t.tick_id INTO v_last
      FROM pgq.tick t JOIN pgq.queue qq ON qq.queue_id = t.tick_queue
     WHERE qq.queue_name = i_queue_name
     ORDER BY t.tick_queue DESC, t.tick_id DESC
     LIMIT 1;
    RETURN v_last;
END;
$$;


-- ---------------------------------------------------------------------------
-- Queue management
-- ---------------------------------------------------------------------------

-- Create a queue: its sequences, data tables and first tick.  Returns 1, or 0
-- when the queue already exists.
CREATE OR REPLACE FUNCTION pgq.create_queue(i_queue_name text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    v_id int4;
    v_pfx text;
    v_tick_seq text;
    v_ev_seq text;
    v_ntables int4;
    v_tbl text;
BEGIN
    IF i_queue_name IS NULL THEN
        RAISE EXCEPTION 'Invalid NULL value';
    END IF;
    IF EXISTS (SELECT 1 FROM pgq.queue WHERE queue_name = i_queue_name) THEN
        RETURN 0;
    END IF;

    -- object names derive from the id only, so any queue name is safe
    v_id := nextval('pgq.queue_queue_id_seq'::regclass);
    v_pfx := 'pgq.event_' || v_id;
    v_tick_seq := v_pfx || '_tick_seq';
    v_ev_seq := v_pfx || '_id_seq';
    INSERT INTO pgq.queue (queue_id, queue_name, queue_data_pfx, queue_event_seq, queue_tick_seq)
    VALUES (v_id, i_queue_name, v_pfx, v_ev_seq, v_tick_seq)
    RETURNING queue_ntables INTO v_ntables;

    EXECUTE 'CREATE SEQUENCE ' || pgq.quote_fqname(v_tick_seq);
    EXECUTE 'CREATE SEQUENCE ' || pgq.quote_fqname(v_ev_seq);
    EXECUTE 'CREATE TABLE ' || pgq.quote_fqname(v_pfx) || ' () INHERITS (pgq.event_template)';
    FOR i IN 0 .. v_ntables - 1 LOOP
        v_tbl := v_pfx || '_' || i;
        EXECUTE 'CREATE TABLE ' || pgq.quote_fqname(v_tbl)
            || ' () INHERITS (' || pgq.quote_fqname(v_pfx) || ')';
        EXECUTE 'ALTER TABLE ' || pgq.quote_fqname(v_tbl)
            || ' ALTER COLUMN ev_id SET DEFAULT nextval(' || quote_literal(v_ev_seq) || ')';
        EXECUTE 'CREATE INDEX ' || quote_ident('event_' || v_id || '_' || i || '_txid_idx')
            || ' ON ' || pgq.quote_fqname(v_tbl) || ' (ev_txid)';
    END LOOP;

    PERFORM pgq.grant_perms(i_queue_name);
    PERFORM pgq.ticker(i_queue_name);
    PERFORM pgq.tune_storage(i_queue_name);
    PERFORM pgq._insert_regen(false);
    RETURN 1;
END;
$$;

-- Drop a queue with its data.  Refuses while consumers are registered unless
-- x_force, which unregisters them first.
CREATE OR REPLACE FUNCTION pgq.drop_queue(x_queue_name text, x_force bool)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
    v_consumer text;
BEGIN
    SELECT * INTO q FROM pgq.queue WHERE queue_name = x_queue_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No such event queue';
    END IF;

    IF x_force THEN
        FOR v_consumer IN
            SELECT c.co_name FROM pgq.subscription s
              JOIN pgq.consumer c ON c.co_id = s.sub_consumer
             WHERE s.sub_queue = q.queue_id
             ORDER BY c.co_name
        LOOP
            PERFORM pgq.unregister_consumer(x_queue_name, v_consumer);
        END LOOP;
    ELSIF EXISTS (SELECT 1 FROM pgq.subscription WHERE sub_queue = q.queue_id) THEN
        RAISE EXCEPTION 'cannot drop queue, consumers still attached';
    END IF;

    FOR i IN 0 .. q.queue_ntables - 1 LOOP
        EXECUTE 'DROP TABLE ' || pgq.quote_fqname(q.queue_data_pfx || '_' || i);
    END LOOP;
    EXECUTE 'DROP TABLE ' || pgq.quote_fqname(q.queue_data_pfx);
    DELETE FROM pgq.tick WHERE tick_queue = q.queue_id;
    EXECUTE 'DROP SEQUENCE ' || pgq.quote_fqname(q.queue_tick_seq);
    EXECUTE 'DROP SEQUENCE ' || pgq.quote_fqname(q.queue_event_seq);
    DELETE FROM pgq.queue WHERE queue_id = q.queue_id;
    PERFORM pgq._insert_regen(false);
    RETURN 1;
END;
$$;

-- drop_queue without force.
CREATE OR REPLACE FUNCTION pgq.drop_queue(x_queue_name text)
RETURNS integer
LANGUAGE plpgsql STRICT
AS $$
BEGIN
    RETURN pgq.drop_queue(x_queue_name, false);
END;
$$;

-- Change one tunable of a queue.  The parameter is named without the
-- "queue_" prefix; disable_insert and per_tx_limit are deliberately not
-- settable here (pgq_node owns them).  The value is converted by the column
-- type's input function, as a literal would be.
CREATE OR REPLACE FUNCTION pgq.set_queue_config(x_queue_name text, x_param_name text, x_param_value text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    v_col text;
BEGIN
    IF x_queue_name IS NULL OR x_param_name IS NULL THEN
        RAISE EXCEPTION 'Invalid NULL value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pgq.queue WHERE queue_name = x_queue_name) THEN
        RAISE EXCEPTION 'No such event queue';
    END IF;
    v_col := 'queue_' || x_param_name;
    IF v_col NOT IN ('queue_ticker_max_count', 'queue_ticker_max_lag',
                     'queue_ticker_idle_period', 'queue_ticker_paused',
                     'queue_rotation_period', 'queue_external_ticker') THEN
        -- the stray "s" is in the original's message and kept for compatibility
        RAISE EXCEPTION 'cannot change parameter "%s"', x_param_name;
    END IF;
    EXECUTE format('UPDATE pgq.queue SET %I = %L WHERE queue_name = $1', v_col, x_param_value)
        USING x_queue_name;
    RETURN 1;
END;
$$;


-- ---------------------------------------------------------------------------
-- Consumers
-- ---------------------------------------------------------------------------

-- Register a consumer at the queue's latest tick.  1 = new, 0 = was already.
CREATE OR REPLACE FUNCTION pgq.register_consumer(x_queue_name text, x_consumer_id text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    RETURN pgq.register_consumer_at(x_queue_name, x_consumer_id, NULL);
END;
$$;

-- Register a consumer at a given tick (NULL = latest).  An existing consumer
-- given a tick is moved there, dropping its open batch, and 0 is returned.
CREATE OR REPLACE FUNCTION pgq.register_consumer_at(x_queue_name text, x_consumer_name text, x_tick_pos bigint)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    v_queue_id int4;
    v_co_id int4;
    v_tick int8;
BEGIN
    SELECT queue_id INTO v_queue_id FROM pgq.queue WHERE queue_name = x_queue_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Event queue not created yet';
    END IF;

    SELECT co_id INTO v_co_id FROM pgq.consumer WHERE co_name = x_consumer_name FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO pgq.consumer (co_name) VALUES (x_consumer_name)
        RETURNING co_id INTO v_co_id;
    END IF;

    IF x_tick_pos IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pgq.tick
                        WHERE tick_queue = v_queue_id AND tick_id = x_tick_pos) THEN
        RAISE EXCEPTION 'cannot reposition, tick not found: %', x_tick_pos;
    END IF;

    IF EXISTS (SELECT 1 FROM pgq.subscription
                WHERE sub_queue = v_queue_id AND sub_consumer = v_co_id) THEN
        IF x_tick_pos IS NOT NULL THEN
            UPDATE pgq.subscription
               SET sub_last_tick = x_tick_pos,
                   sub_batch = NULL,
                   sub_next_tick = NULL,
                   sub_active = now()
             WHERE sub_queue = v_queue_id AND sub_consumer = v_co_id;
        END IF;
        RETURN 0;
    END IF;

    v_tick := x_tick_pos;
    IF v_tick IS NULL THEN
        SELECT tick_id INTO v_tick FROM pgq.tick
         WHERE tick_queue = v_queue_id
         ORDER BY tick_queue DESC, tick_id DESC
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No ticks for this queue.  Please run ticker on database.';
        END IF;
    END IF;
    INSERT INTO pgq.subscription (sub_queue, sub_consumer, sub_last_tick)
    VALUES (v_queue_id, v_co_id, v_tick);
    RETURN 1;
END;
$$;

-- Remove a consumer from a queue, with its pending retry events.  Returns the
-- number of subscription rows removed (0 = was not registered).  A cooperative
-- subconsumer (sharing sub_id with its main consumer) only loses its own row.
CREATE OR REPLACE FUNCTION pgq.unregister_consumer(x_queue_name text, x_consumer_name text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    v_sub_id int4;
    v_co_id int4;
    v_is_sub boolean;
    v_shared int4;
BEGIN
    -- a subconsumer row is idle (both ticks NULL) or busy (both set); a main
    -- coop consumer has a last tick but no next tick
    SELECT s.sub_id, c.co_id,
           (s.sub_last_tick IS NULL AND s.sub_next_tick IS NULL)
           OR (s.sub_last_tick IS NOT NULL AND s.sub_next_tick IS NOT NULL)
      INTO v_sub_id, v_co_id, v_is_sub
      FROM pgq.subscription s
      JOIN pgq.consumer c ON c.co_id = s.sub_consumer
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
     WHERE q.queue_name = x_queue_name
       AND c.co_name = x_consumer_name
       FOR UPDATE OF s, c;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    SELECT count(*) INTO v_shared FROM pgq.subscription WHERE sub_id = v_sub_id;
    IF v_shared > 1 AND v_is_sub THEN
        DELETE FROM pgq.subscription WHERE sub_id = v_sub_id AND sub_consumer = v_co_id;
        RETURN 1;
    END IF;

    DELETE FROM pgq.retry_queue WHERE ev_owner = v_sub_id;
    DELETE FROM pgq.subscription WHERE sub_id = v_sub_id;
    IF NOT EXISTS (SELECT 1 FROM pgq.subscription WHERE sub_consumer = v_co_id) THEN
        DELETE FROM pgq.consumer WHERE co_id = v_co_id;
    END IF;
    RETURN v_shared;
END;
$$;


-- ---------------------------------------------------------------------------
-- Batches
-- ---------------------------------------------------------------------------

-- Pick the end tick for a batch with min_count/min_interval tuning: the
-- latest tick when it is not far past the thresholds, otherwise the earliest
-- tick meeting either one.  All NULL when no tick qualifies.
CREATE OR REPLACE FUNCTION pgq.find_tick_helper(
    in i_queue_id int4,
    in i_prev_tick_id int8,
    in i_prev_tick_time timestamptz,
    in i_prev_tick_seq int8,
    in i_min_count int8,
    in i_min_interval interval,
    out next_tick_id int8,
    out next_tick_time timestamptz,
    out next_tick_seq int8)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    t record;
    v_ok boolean := false;
    v_overshoot boolean := false;
BEGIN
    SELECT tick_id, tick_time, tick_event_seq INTO t
      FROM pgq.tick
     WHERE tick_queue = i_queue_id AND tick_id > i_prev_tick_id
     ORDER BY tick_queue DESC, tick_id DESC
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF i_min_count IS NOT NULL THEN
        v_ok := v_ok OR t.tick_event_seq - i_prev_tick_seq >= i_min_count;
        v_overshoot := v_overshoot OR t.tick_event_seq - i_prev_tick_seq > i_min_count * 2;
    END IF;
    IF i_min_interval IS NOT NULL THEN
        v_ok := v_ok OR t.tick_time - i_prev_tick_time >= i_min_interval;
        v_overshoot := v_overshoot OR t.tick_time - i_prev_tick_time > i_min_interval * 2;
    END IF;

    -- the latest tick is far past what was asked for: find the first one
    -- that is just enough, so batches stay near the requested size
    IF v_overshoot THEN
        SELECT tick_id, tick_time, tick_event_seq INTO t
          FROM pgq.tick
         WHERE tick_queue = i_queue_id
           AND tick_id > i_prev_tick_id
           AND ((i_min_count IS NOT NULL AND tick_event_seq - i_prev_tick_seq >= i_min_count)
                OR (i_min_interval IS NOT NULL AND tick_time - i_prev_tick_time >= i_min_interval))
         ORDER BY tick_queue ASC, tick_id ASC
         LIMIT 1;
        v_ok := true;
    END IF;

    IF v_ok THEN
        next_tick_id := t.tick_id;
        next_tick_time := t.tick_time;
        next_tick_seq := t.tick_event_seq;
    END IF;
END;
$$;

-- Open (or return the already open) batch for a consumer.  With all tuning
-- arguments NULL the batch ends at the next tick; min_count/min_interval make
-- it span several ticks; min_lag holds back ticks younger than that.  All
-- columns NULL when there is no batch to process.
CREATE OR REPLACE FUNCTION pgq.next_batch_custom(
    in i_queue_name text,
    in i_consumer_name text,
    in i_min_lag interval,
    in i_min_count int4,
    in i_min_interval interval,
    out batch_id int8,
    out cur_tick_id int8,
    out prev_tick_id int8,
    out cur_tick_time timestamptz,
    out prev_tick_time timestamptz,
    out cur_tick_event_seq int8,
    out prev_tick_event_seq int8)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    SELECT sub.sub_queue, sub.sub_consumer, sub.sub_batch, sub.sub_last_tick,
           t1.tick_id AS t1_id, t1.tick_time AS t1_time, t1.tick_event_seq AS t1_seq,
           t2.tick_id AS t2_id, t2.tick_time AS t2_time, t2.tick_event_seq AS t2_seq
      INTO s
      FROM pgq.queue q
      JOIN pgq.subscription sub ON sub.sub_queue = q.queue_id
      JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
      LEFT JOIN pgq.tick t1 ON t1.tick_queue = sub.sub_queue AND t1.tick_id = sub.sub_last_tick
      LEFT JOIN pgq.tick t2 ON t2.tick_queue = sub.sub_queue AND t2.tick_id = sub.sub_next_tick
     WHERE q.queue_name = i_queue_name
       AND c.co_name = i_consumer_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', 'Not subscriber to queue: '
            || coalesce(i_queue_name, 'NULL') || '/' || coalesce(i_consumer_name, 'NULL');
    END IF;
    IF s.t1_id IS NULL THEN
        RAISE EXCEPTION 'PgQ corruption: Consumer % on queue % does not see tick %',
            i_consumer_name, i_queue_name, s.sub_last_tick;
    END IF;

    batch_id := s.sub_batch;
    prev_tick_id := s.t1_id;
    prev_tick_time := s.t1_time;
    prev_tick_event_seq := s.t1_seq;
    cur_tick_id := s.t2_id;
    cur_tick_time := s.t2_time;
    cur_tick_event_seq := s.t2_seq;

    -- asking again before finish_batch gives the same batch (crash-safe redo)
    IF batch_id IS NOT NULL THEN
        RETURN;
    END IF;

    IF i_min_count IS NULL AND i_min_interval IS NULL THEN
        SELECT tick_id, tick_time, tick_event_seq
          INTO cur_tick_id, cur_tick_time, cur_tick_event_seq
          FROM pgq.tick
         WHERE tick_queue = s.sub_queue AND tick_id > prev_tick_id
         ORDER BY tick_queue ASC, tick_id ASC
         LIMIT 1;
    ELSE
        SELECT h.next_tick_id, h.next_tick_time, h.next_tick_seq
          INTO cur_tick_id, cur_tick_time, cur_tick_event_seq
          FROM pgq.find_tick_helper(s.sub_queue, prev_tick_id, prev_tick_time,
                                    prev_tick_event_seq, i_min_count, i_min_interval) h;
    END IF;

    IF i_min_lag IS NOT NULL AND now() - cur_tick_time < i_min_lag THEN
        cur_tick_id := NULL;
        cur_tick_time := NULL;
        cur_tick_event_seq := NULL;
    END IF;

    IF cur_tick_id IS NULL THEN
        prev_tick_id := NULL;
        prev_tick_time := NULL;
        prev_tick_event_seq := NULL;
        RETURN;
    END IF;

    batch_id := nextval('pgq.batch_id_seq'::regclass);
    UPDATE pgq.subscription
       SET sub_batch = batch_id,
           sub_next_tick = cur_tick_id,
           sub_active = now()
     WHERE sub_queue = s.sub_queue AND sub_consumer = s.sub_consumer;
END;
$$;

-- next_batch_custom without tuning.
CREATE OR REPLACE FUNCTION pgq.next_batch_info(
    in i_queue_name text,
    in i_consumer_name text,
    out batch_id int8,
    out cur_tick_id int8,
    out prev_tick_id int8,
    out cur_tick_time timestamptz,
    out prev_tick_time timestamptz,
    out cur_tick_event_seq int8,
    out prev_tick_event_seq int8)
LANGUAGE plpgsql
AS $$
BEGIN
    SELECT f.batch_id, f.cur_tick_id, f.prev_tick_id, f.cur_tick_time,
           f.prev_tick_time, f.cur_tick_event_seq, f.prev_tick_event_seq
      INTO batch_id, cur_tick_id, prev_tick_id, cur_tick_time,
           prev_tick_time, cur_tick_event_seq, prev_tick_event_seq
      FROM pgq.next_batch_custom(i_queue_name, i_consumer_name, NULL, NULL, NULL) f;
END;
$$;

-- The batch id only (the oldest form of the call).
CREATE OR REPLACE FUNCTION pgq.next_batch(in i_queue_name text, in i_consumer_name text)
RETURNS int8
LANGUAGE plpgsql
AS $$
DECLARE
    v_batch int8;
BEGIN
    SELECT f.batch_id INTO v_batch FROM pgq.next_batch_info(i_queue_name, i_consumer_name) f;
    RETURN v_batch;
END;
$$;

-- Which data tables can hold events of a batch.  Writers choose the table
-- when they insert, so a transaction that began before a rotation may still
-- write into the previous table: only when the batch lies wholly before the
-- last rotation (or wholly after its confirmation, step2) is one table enough.
CREATE OR REPLACE FUNCTION pgq.batch_event_tables(x_batch_id bigint)
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    b record;
    v_prev int4;
BEGIN
    SELECT txid_snapshot_xmin(last.tick_snapshot) AS tx_min,
           txid_snapshot_xmax(cur.tick_snapshot) AS tx_max,
           q.queue_data_pfx, q.queue_ntables, q.queue_cur_table,
           q.queue_switch_step1, q.queue_switch_step2
      INTO b
      FROM pgq.subscription s
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
      JOIN pgq.tick last ON last.tick_queue = s.sub_queue AND last.tick_id = s.sub_last_tick
      JOIN pgq.tick cur ON cur.tick_queue = s.sub_queue AND cur.tick_id = s.sub_next_tick
     WHERE s.sub_batch = x_batch_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Cannot find data for batch %', x_batch_id;
    END IF;

    v_prev := CASE WHEN b.queue_cur_table = 0 THEN b.queue_ntables - 1
                   ELSE b.queue_cur_table - 1 END;
    IF b.tx_max < b.queue_switch_step1 THEN
        -- everything committed before the rotation began
        RETURN NEXT b.queue_data_pfx || '_' || v_prev;
    ELSIF b.queue_switch_step2 IS NOT NULL AND b.tx_min > b.queue_switch_step2 THEN
        -- everything started after the rotation was confirmed
        RETURN NEXT b.queue_data_pfx || '_' || b.queue_cur_table;
    ELSE
        RETURN NEXT b.queue_data_pfx || '_' || v_prev;
        RETURN NEXT b.queue_data_pfx || '_' || b.queue_cur_table;
    END IF;
END;
$$;

-- Build the query returning a batch's events, ordered by ev_id.  An event
-- belongs to the batch when its transaction is invisible in the start tick's
-- snapshot and visible in the end tick's.  So that the ev_txid index serves,
-- the scan covers [xmax(start) .. xmax(end)] plus an explicit list of the
-- transactions that were running at the start tick and ended by the end tick;
-- those close below xmax(start) are folded into the range instead, which keeps
-- the list short.  Retry events are only for their owner.
-- The text always ends in ' order by 1' (get_batch_cursor and some clients
-- strip it to wrap the query).
CREATE OR REPLACE FUNCTION pgq.batch_event_sql(x_batch_id bigint)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    b record;
    v_lo int8;
    v_hi int8;
    v_list text := '';
    v_xid int8;
    v_cols text := 'select ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data,'
                   ' ev_extra1, ev_extra2, ev_extra3, ev_extra4';
    v_owner text;
    v_sql text := '';
    v_tbl text;
BEGIN
    SELECT s.sub_id, last.tick_snapshot AS snap_lo, cur.tick_snapshot AS snap_hi
      INTO b
      FROM pgq.subscription s
      JOIN pgq.tick last ON last.tick_queue = s.sub_queue AND last.tick_id = s.sub_last_tick
      JOIN pgq.tick cur ON cur.tick_queue = s.sub_queue AND cur.tick_id = s.sub_next_tick
     WHERE s.sub_batch = x_batch_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch not found';
    END IF;

    v_lo := txid_snapshot_xmax(b.snap_lo);
    v_hi := txid_snapshot_xmax(b.snap_hi);
    FOR v_xid IN
        SELECT x FROM txid_snapshot_xip(b.snap_lo) x
        EXCEPT
        SELECT x FROM txid_snapshot_xip(b.snap_hi) x
        ORDER BY 1 DESC
    LOOP
        IF v_xid >= v_lo - 100 THEN
            v_lo := v_xid;
        ELSIF v_list = '' THEN
            v_list := v_xid::text;
        ELSE
            v_list := v_list || ',' || v_xid;
        END IF;
    END LOOP;

    v_owner := ' and (ev.ev_owner is null or ev.ev_owner = ' || b.sub_id || ')';
    FOR v_tbl IN SELECT pgq.quote_fqname(t) FROM pgq.batch_event_tables(x_batch_id) t LOOP
        IF v_sql <> '' THEN
            v_sql := v_sql || ' union all ';
        END IF;
        v_sql := v_sql || v_cols || ' from ' || v_tbl || ' ev'
            || ' where ev.ev_txid >= ' || v_lo || ' and ev.ev_txid <= ' || v_hi
            || ' and pg_catalog.txid_visible_in_snapshot(ev.ev_txid, '
            || quote_literal(b.snap_hi::text) || '::pg_catalog.txid_snapshot)'
            || ' and not pg_catalog.txid_visible_in_snapshot(ev.ev_txid, '
            || quote_literal(b.snap_lo::text) || '::pg_catalog.txid_snapshot)'
            || v_owner;
        IF v_list <> '' THEN
            v_sql := v_sql || ' union all ' || v_cols || ' from ' || v_tbl || ' ev'
                || ' where ev.ev_txid in (' || v_list || ')' || v_owner;
        END IF;
    END LOOP;
    IF v_sql = '' THEN
        RAISE EXCEPTION 'could not construct sql for batch %', x_batch_id;
    END IF;
    RETURN v_sql || ' order by 1';
END;
$$;

-- All events of an open batch, ordered by ev_id.
CREATE OR REPLACE FUNCTION pgq.get_batch_events(
    in x_batch_id bigint,
    out ev_id bigint,
    out ev_time timestamptz,
    out ev_txid bigint,
    out ev_retry int4,
    out ev_type text,
    out ev_data text,
    out ev_extra1 text,
    out ev_extra2 text,
    out ev_extra3 text,
    out ev_extra4 text)
RETURNS SETOF record
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY EXECUTE pgq.batch_event_sql(x_batch_id);
END;
$$;

-- Open a cursor over a batch's events (optionally filtered by i_extra_where,
-- an SQL condition on the event columns) and return its first i_quick_limit
-- rows; the caller FETCHes the rest and closes it.  Needs an open transaction.
CREATE OR REPLACE FUNCTION pgq.get_batch_cursor(
    in i_batch_id bigint,
    in i_cursor_name text,
    in i_quick_limit int4,
    in i_extra_where text,
    out ev_id bigint,
    out ev_time timestamptz,
    out ev_txid bigint,
    out ev_retry int4,
    out ev_type text,
    out ev_data text,
    out ev_extra1 text,
    out ev_extra2 text,
    out ev_extra3 text,
    out ev_extra4 text)
RETURNS SETOF record
LANGUAGE plpgsql
AS $$
DECLARE
    v_cursor text;
    v_sql text;
BEGIN
    IF i_batch_id IS NULL OR i_cursor_name IS NULL OR i_quick_limit IS NULL THEN
        RETURN;
    END IF;
    v_cursor := quote_ident(i_cursor_name);
    v_sql := pgq.batch_event_sql(i_batch_id);
    IF i_extra_where IS NOT NULL THEN
        v_sql := 'select * from (' || replace(v_sql, ' order by 1', '')
            || ') _evs where ' || i_extra_where || ' order by 1';
    END IF;
    EXECUTE 'declare ' || v_cursor || ' no scroll cursor for ' || v_sql;
    IF i_quick_limit > 0 THEN
        RETURN QUERY EXECUTE 'fetch ' || i_quick_limit || ' from ' || v_cursor;
    END IF;
END;
$$;

-- get_batch_cursor without a filter.
CREATE OR REPLACE FUNCTION pgq.get_batch_cursor(
    in i_batch_id bigint,
    in i_cursor_name text,
    in i_quick_limit int4,
    out ev_id bigint,
    out ev_time timestamptz,
    out ev_txid bigint,
    out ev_retry int4,
    out ev_type text,
    out ev_data text,
    out ev_extra1 text,
    out ev_extra2 text,
    out ev_extra3 text,
    out ev_extra4 text)
RETURNS SETOF record
LANGUAGE plpgsql STRICT
AS $$
BEGIN
    RETURN QUERY SELECT * FROM pgq.get_batch_cursor(i_batch_id, i_cursor_name, i_quick_limit, NULL);
END;
$$;

-- Postpone one event of the open batch until x_retry_time; it comes back in a
-- later batch for this consumer only.  1 = queued, 0 = it already was.
CREATE OR REPLACE FUNCTION pgq.event_retry(x_batch_id bigint, x_event_id bigint, x_retry_time timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    s record;
    e record;
    v_sql text;
    v_n int4;
BEGIN
    -- an unknown batch holds no such event: same message as the original
    SELECT sub_id, sub_queue INTO s FROM pgq.subscription WHERE sub_batch = x_batch_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event not found';
    END IF;
    v_sql := pgq.batch_event_sql(x_batch_id);
    EXECUTE 'select * from (' || replace(v_sql, ' order by 1', '') || ') _evs where ev_id = $1 limit 1'
        INTO e USING x_event_id;
    IF e.ev_id IS NULL THEN
        RAISE EXCEPTION 'event not found';
    END IF;
    INSERT INTO pgq.retry_queue (ev_retry_after, ev_queue, ev_id, ev_time, ev_txid,
                                 ev_owner, ev_retry, ev_type, ev_data,
                                 ev_extra1, ev_extra2, ev_extra3, ev_extra4)
    VALUES (x_retry_time, s.sub_queue, e.ev_id, e.ev_time, NULL,
            s.sub_id, coalesce(e.ev_retry, 0) + 1, e.ev_type, e.ev_data,
            e.ev_extra1, e.ev_extra2, e.ev_extra3, e.ev_extra4)
    ON CONFLICT (ev_owner, ev_id) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

-- event_retry with a delay in seconds.
CREATE OR REPLACE FUNCTION pgq.event_retry(x_batch_id bigint, x_event_id bigint, x_retry_seconds integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    RETURN pgq.event_retry(x_batch_id, x_event_id,
                           current_timestamp + make_interval(secs => x_retry_seconds));
END;
$$;

-- Postpone every event of the open batch that is not already postponed.
-- Returns how many were.
CREATE OR REPLACE FUNCTION pgq.batch_retry(i_batch_id bigint, i_retry_seconds integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    s record;
    v_n int4;
BEGIN
    SELECT sub_id, sub_queue INTO s FROM pgq.subscription WHERE sub_batch = i_batch_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch_retry: batch % not found', i_batch_id;
    END IF;
    INSERT INTO pgq.retry_queue (ev_retry_after, ev_queue, ev_id, ev_time, ev_txid,
                                 ev_owner, ev_retry, ev_type, ev_data,
                                 ev_extra1, ev_extra2, ev_extra3, ev_extra4)
    SELECT DISTINCT current_timestamp + make_interval(secs => i_retry_seconds), s.sub_queue,
           b.ev_id, b.ev_time, NULL::int8, s.sub_id, coalesce(b.ev_retry, 0) + 1,
           b.ev_type, b.ev_data, b.ev_extra1, b.ev_extra2, b.ev_extra3, b.ev_extra4
      FROM pgq.get_batch_events(i_batch_id) b
    ON CONFLICT (ev_owner, ev_id) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

-- Close a batch: the consumer moves to its end tick.  An unknown batch is a
-- warning and 0, not an error (a retried finish after a lost reply is normal).
CREATE OR REPLACE FUNCTION pgq.finish_batch(x_batch_id bigint)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    UPDATE pgq.subscription
       SET sub_active = now(),
           sub_last_tick = sub_next_tick,
           sub_next_tick = NULL,
           sub_batch = NULL
     WHERE sub_batch = x_batch_id;
    IF NOT FOUND THEN
        RAISE WARNING 'finish_batch: batch % not found', x_batch_id;
        RETURN 0;
    END IF;
    RETURN 1;
END;
$$;

-- Admin: put an arbitrary event into a consumer's retry queue.  A NULL ev_id
-- takes the next id of the queue.
CREATE OR REPLACE FUNCTION pgq.event_retry_raw(
    x_queue text,
    x_consumer text,
    x_retry_after timestamptz,
    x_ev_id bigint,
    x_ev_time timestamptz,
    x_ev_retry integer,
    x_ev_type text,
    x_ev_data text,
    x_ev_extra1 text,
    x_ev_extra2 text,
    x_ev_extra3 text,
    x_ev_extra4 text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
DECLARE
    s record;
    v_id int8;
BEGIN
    SELECT sub.sub_id, sub.sub_queue, q.queue_event_seq INTO s
      FROM pgq.queue q
      JOIN pgq.subscription sub ON sub.sub_queue = q.queue_id
      JOIN pgq.consumer c ON c.co_id = sub.sub_consumer
     WHERE q.queue_name = x_queue AND c.co_name = x_consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer not registered';
    END IF;
    v_id := x_ev_id;
    IF v_id IS NULL THEN
        v_id := nextval(pgq.quote_fqname(s.queue_event_seq)::regclass);
    END IF;
    INSERT INTO pgq.retry_queue (ev_retry_after, ev_queue, ev_id, ev_time, ev_owner, ev_retry,
                                 ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4)
    VALUES (x_retry_after, s.sub_queue, v_id, x_ev_time, s.sub_id, x_ev_retry,
            x_ev_type, x_ev_data, x_ev_extra1, x_ev_extra2, x_ev_extra3, x_ev_extra4);
    RETURN v_id;
END;
$$;


-- ---------------------------------------------------------------------------
-- Information
-- ---------------------------------------------------------------------------

-- Queue settings and ticker state; i_queue_name NULL = all queues.
-- ev_per_sec is measured over the last ~20 ticks, ev_new counts ids drawn
-- since the last tick (an estimate: rolled back inserts count too).
CREATE OR REPLACE FUNCTION pgq.get_queue_info(
    in i_queue_name text,
    out queue_name text,
    out queue_ntables integer,
    out queue_cur_table integer,
    out queue_rotation_period interval,
    out queue_switch_time timestamptz,
    out queue_external_ticker boolean,
    out queue_ticker_paused boolean,
    out queue_ticker_max_count integer,
    out queue_ticker_max_lag interval,
    out queue_ticker_idle_period interval,
    out ticker_lag interval,
    out ev_per_sec float8,
    out ev_new bigint,
    out last_tick_id bigint)
RETURNS SETOF record
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY
    SELECT q.queue_name, q.queue_ntables, q.queue_cur_table, q.queue_rotation_period,
           q.queue_switch_time, q.queue_external_ticker, q.queue_ticker_paused,
           q.queue_ticker_max_count, q.queue_ticker_max_lag, q.queue_ticker_idle_period,
           current_timestamp - top.tick_time,
           CASE WHEN old.tick_time < top.tick_time
                THEN ((top.tick_event_seq - old.tick_event_seq)
                      / extract(epoch FROM top.tick_time - old.tick_time))::float8
           END,
           pgq.seq_getval(q.queue_event_seq) - top.tick_event_seq,
           top.tick_id
      FROM pgq.queue q
      LEFT JOIN LATERAL (
            SELECT t.tick_id, t.tick_time, t.tick_event_seq
              FROM pgq.tick t
             WHERE t.tick_queue = q.queue_id
             ORDER BY t.tick_queue DESC, t.tick_id DESC
             LIMIT 1) top ON true
      LEFT JOIN LATERAL (
            SELECT t.tick_time, t.tick_event_seq
              FROM pgq.tick t
             WHERE t.tick_queue = q.queue_id
               AND t.tick_id >= top.tick_id - 20
             ORDER BY t.tick_queue ASC, t.tick_id ASC
             LIMIT 1) old ON true
     WHERE i_queue_name IS NULL OR q.queue_name = i_queue_name
     ORDER BY q.queue_name;
END;
$$;

-- get_queue_info for all queues.
CREATE OR REPLACE FUNCTION pgq.get_queue_info(
    out queue_name text,
    out queue_ntables integer,
    out queue_cur_table integer,
    out queue_rotation_period interval,
    out queue_switch_time timestamptz,
    out queue_external_ticker boolean,
    out queue_ticker_paused boolean,
    out queue_ticker_max_count integer,
    out queue_ticker_max_lag interval,
    out queue_ticker_idle_period interval,
    out ticker_lag interval,
    out ev_per_sec float8,
    out ev_new bigint,
    out last_tick_id bigint)
RETURNS SETOF record
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT * FROM pgq.get_queue_info(NULL);
END;
$$;

-- Consumers and how far behind they are; NULL arguments match everything.
-- pending_events is the id-sequence distance between the consumer's tick and
-- the queue's latest one (an estimate).
CREATE OR REPLACE FUNCTION pgq.get_consumer_info(
    in i_queue_name text,
    in i_consumer_name text,
    out queue_name text,
    out consumer_name text,
    out lag interval,
    out last_seen interval,
    out last_tick bigint,
    out current_batch bigint,
    out next_tick bigint,
    out pending_events bigint)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT q.queue_name, c.co_name,
           current_timestamp - t.tick_time,
           current_timestamp - s.sub_active,
           s.sub_last_tick, s.sub_batch, s.sub_next_tick,
           top.tick_event_seq - t.tick_event_seq
      FROM pgq.subscription s
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
      JOIN pgq.consumer c ON c.co_id = s.sub_consumer
      LEFT JOIN pgq.tick t ON t.tick_queue = s.sub_queue AND t.tick_id = s.sub_last_tick
      LEFT JOIN LATERAL (
            SELECT tt.tick_event_seq
              FROM pgq.tick tt
             WHERE tt.tick_queue = s.sub_queue
             ORDER BY tt.tick_queue DESC, tt.tick_id DESC
             LIMIT 1) top ON true
     WHERE (i_queue_name IS NULL OR q.queue_name = i_queue_name)
       AND (i_consumer_name IS NULL OR c.co_name = i_consumer_name)
     ORDER BY 1, 2;
END;
$$;

-- get_consumer_info for one queue.
CREATE OR REPLACE FUNCTION pgq.get_consumer_info(
    in i_queue_name text,
    out queue_name text,
    out consumer_name text,
    out lag interval,
    out last_seen interval,
    out last_tick bigint,
    out current_batch bigint,
    out next_tick bigint,
    out pending_events bigint)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM pgq.get_consumer_info(i_queue_name, NULL);
END;
$$;

-- get_consumer_info for everything.
CREATE OR REPLACE FUNCTION pgq.get_consumer_info(
    out queue_name text,
    out consumer_name text,
    out lag interval,
    out last_seen interval,
    out last_tick bigint,
    out current_batch bigint,
    out next_tick bigint,
    out pending_events bigint)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM pgq.get_consumer_info(NULL, NULL);
END;
$$;

-- Where an open batch starts and ends.  All NULL for an unknown batch.
CREATE OR REPLACE FUNCTION pgq.get_batch_info(
    in x_batch_id bigint,
    out queue_name text,
    out consumer_name text,
    out batch_start timestamptz,
    out batch_end timestamptz,
    out prev_tick_id bigint,
    out tick_id bigint,
    out lag interval,
    out seq_start bigint,
    out seq_end bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pgq, pg_temp
AS $$
BEGIN
    SELECT q.queue_name, c.co_name, prev.tick_time, cur.tick_time,
           s.sub_last_tick, s.sub_next_tick, current_timestamp - cur.tick_time,
           prev.tick_event_seq, cur.tick_event_seq
      INTO queue_name, consumer_name, batch_start, batch_end,
           prev_tick_id, tick_id, lag, seq_start, seq_end
      FROM pgq.subscription s
      JOIN pgq.queue q ON q.queue_id = s.sub_queue
      JOIN pgq.consumer c ON c.co_id = s.sub_consumer
      JOIN pgq.tick prev ON prev.tick_queue = s.sub_queue AND prev.tick_id = s.sub_last_tick
      JOIN pgq.tick cur ON cur.tick_queue = s.sub_queue AND cur.tick_id = s.sub_next_tick
     WHERE s.sub_batch = x_batch_id;
END;
$$;


-- ---------------------------------------------------------------------------
-- Maintenance (driven by pgqd)
-- ---------------------------------------------------------------------------

-- Move up to 10 due retry events back into their queues.  pgqd calls it
-- until it returns 0.  The lock keeps two movers from racing.
CREATE OR REPLACE FUNCTION pgq.maint_retry_events()
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    v_n int4 := 0;
BEGIN
    LOCK TABLE pgq.retry_queue IN SHARE UPDATE EXCLUSIVE MODE;
    FOR r IN
        SELECT q.queue_name, rq.ev_id, rq.ev_time, rq.ev_owner, rq.ev_retry,
               rq.ev_type, rq.ev_data, rq.ev_extra1, rq.ev_extra2, rq.ev_extra3, rq.ev_extra4
          FROM pgq.retry_queue rq
          JOIN pgq.queue q ON q.queue_id = rq.ev_queue
         WHERE rq.ev_retry_after <= current_timestamp
         ORDER BY rq.ev_retry_after
         LIMIT 10
    LOOP
        v_n := v_n + 1;
        PERFORM pgq.insert_event_raw(r.queue_name, r.ev_id, r.ev_time, r.ev_owner, r.ev_retry,
                                     r.ev_type, r.ev_data, r.ev_extra1, r.ev_extra2,
                                     r.ev_extra3, r.ev_extra4);
        DELETE FROM pgq.retry_queue WHERE ev_owner = r.ev_owner AND ev_id = r.ev_id;
    END LOOP;
    RETURN v_n;
END;
$$;

-- Rotation, first half: when due, empty the oldest data table and make it the
-- current one.  Skipped (0, no error) when the slowest consumer may still need
-- that table, or when someone holds a lock on it (e.g. pg_dump).  Ticks from
-- before the previous rotation are dropped: nothing can read them any more.
CREATE OR REPLACE FUNCTION pgq.maint_rotate_tables_step1(i_queue_name text)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    q pgq.queue%ROWTYPE;
    v_low_tick int8;
    v_low_xmin int8;
    v_next int4;
    v_tbl text;
BEGIN
    SELECT * INTO q FROM pgq.queue
     WHERE queue_name = i_queue_name
       AND queue_rotation_period IS NOT NULL
       AND queue_switch_step2 IS NOT NULL
       AND queue_switch_time + queue_rotation_period < current_timestamp
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    IF pg_catalog.txid_current() < q.queue_switch_step1 THEN
        RAISE EXCEPTION 'queue % maint failure: step1=%, current=%',
            i_queue_name, q.queue_switch_step1, pg_catalog.txid_current();
    END IF;

    SELECT min(sub_last_tick) INTO v_low_tick FROM pgq.subscription WHERE sub_queue = q.queue_id;
    IF v_low_tick IS NOT NULL THEN
        SELECT pg_catalog.txid_snapshot_xmin(tick_snapshot) INTO v_low_xmin
          FROM pgq.tick
         WHERE tick_queue = q.queue_id AND tick_id = v_low_tick;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'queue % maint failure: tick % not found', i_queue_name, v_low_tick;
        END IF;
        -- the slowest consumer's batches may reach back into the table that
        -- was current before the last rotation: not safe to empty yet
        IF v_low_xmin <= q.queue_switch_step2 THEN
            RETURN 0;
        END IF;
    END IF;

    v_next := (q.queue_cur_table + 1) % q.queue_ntables;
    v_tbl := pgq.quote_fqname(q.queue_data_pfx || '_' || v_next);
    BEGIN
        EXECUTE 'LOCK TABLE ' || v_tbl || ' NOWAIT';
        EXECUTE 'TRUNCATE ' || v_tbl;
    EXCEPTION WHEN lock_not_available THEN
        RETURN 0;
    END;

    UPDATE pgq.queue
       SET queue_cur_table = v_next,
           queue_switch_time = current_timestamp,
           queue_switch_step1 = pg_catalog.txid_current(),
           queue_switch_step2 = NULL
     WHERE queue_id = q.queue_id;
    DELETE FROM pgq.tick
     WHERE tick_queue = q.queue_id
       AND pg_catalog.txid_snapshot_xmin(tick_snapshot) < q.queue_switch_step2;
    RETURN 0;
END;
$$;

-- Rotation, second half, in a later transaction than step1: record a txid
-- known to be newer than every transaction that could have seen the old
-- current table.
CREATE OR REPLACE FUNCTION pgq.maint_rotate_tables_step2()
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE pgq.queue
       SET queue_switch_step2 = pg_catalog.txid_current()
     WHERE queue_switch_step2 IS NULL;
    RETURN 0;
END;
$$;

-- Busy tables worth an explicit VACUUM; none when autovacuum is on.
CREATE OR REPLACE FUNCTION pgq.maint_tables_to_vacuum()
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
BEGIN
    IF pg_catalog.current_setting('autovacuum') = 'on' THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT n.nspname || '.' || c.relname
      FROM (VALUES (1, 'pgq', 'subscription'),
                   (2, 'pgq', 'consumer'),
                   (3, 'pgq', 'queue'),
                   (4, 'pgq', 'tick'),
                   (5, 'pgq', 'retry_queue'),
                   (6, 'pgq_ext', 'completed_tick'),
                   (7, 'pgq_ext', 'completed_batch'),
                   (8, 'pgq_ext', 'completed_event'),
                   (9, 'pgq_ext', 'partial_batch'),
                   (10, 'pgq_node', 'local_state'),
                   (11, 'londiste', 'seq_info'),
                   (12, 'txid', 'epoch'),
                   (13, 'londiste', 'completed')) AS w(ord, scm, tbl)
      JOIN pg_catalog.pg_namespace n ON n.nspname = w.scm
      JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.tbl
     ORDER BY w.ord;
END;
$$;

-- The maintenance calls pgqd should make now, in order.  Each named function
-- takes func_arg (or nothing when it is NULL) and returns an integer; non-zero
-- means "call me again".  'vacuum' means VACUUM the table named in func_arg.
CREATE OR REPLACE FUNCTION pgq.maint_operations(out func_name text, out func_arg text)
RETURNS SETOF record
LANGUAGE plpgsql
AS $$
DECLARE
    v_rot int4 := 0;
BEGIN
    func_name := 'pgq.maint_rotate_tables_step1';
    FOR func_arg IN
        SELECT queue_name FROM pgq.queue
         WHERE queue_rotation_period IS NOT NULL
           AND queue_switch_step2 IS NOT NULL
           AND queue_switch_time + queue_rotation_period < current_timestamp
         ORDER BY 1
    LOOP
        v_rot := v_rot + 1;
        RETURN NEXT;
    END LOOP;

    -- step2 is needed after any step1, and also to finish a rotation that was
    -- interrupted between the two steps
    IF v_rot = 0 THEN
        SELECT count(*) INTO v_rot FROM pgq.queue
         WHERE queue_rotation_period IS NOT NULL AND queue_switch_step2 IS NULL;
    END IF;
    IF v_rot > 0 THEN
        func_name := 'pgq.maint_rotate_tables_step2';
        func_arg := NULL;
        RETURN NEXT;
    END IF;

    FOR func_arg, func_name IN
        SELECT q.queue_name, m.fn
          FROM pgq.queue q,
               unnest(q.queue_extra_maint) WITH ORDINALITY AS m(fn, ord)
         ORDER BY q.queue_name, m.ord
    LOOP
        RETURN NEXT;
    END LOOP;

    func_name := 'vacuum';
    FOR func_arg IN SELECT t FROM pgq.maint_tables_to_vacuum() t LOOP
        RETURN NEXT;
    END LOOP;

    -- cascade and londiste housekeeping, when those schemas are installed
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'pgq_node' AND p.proname = 'maint_watermark') THEN
        func_name := 'pgq_node.maint_watermark';
        FOR func_arg IN
            EXECUTE 'SELECT n.queue_name FROM pgq_node.node_info n WHERE n.node_type = ''root'''
        LOOP
            RETURN NEXT;
        END LOOP;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'londiste' AND p.proname = 'root_check_seqs') THEN
        func_name := 'londiste.root_check_seqs';
        FOR func_arg IN
            EXECUTE 'SELECT DISTINCT s.queue_name FROM londiste.seq_info s, pgq_node.node_info n'
                 || ' WHERE s.local AND n.node_type = ''root'' AND n.queue_name = s.queue_name'
        LOOP
            RETURN NEXT;
        END LOOP;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'londiste' AND p.proname = 'periodic_maintenance') THEN
        func_name := 'londiste.periodic_maintenance';
        func_arg := NULL;
        RETURN NEXT;
    END IF;
END;
$$;


-- ---------------------------------------------------------------------------
-- Privileges (the original's grants.ini, re-applied on every run)
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgq TO public;

-- Start from nothing for the pgq roles and public, then grant; other roles'
-- grants made by the DBA are left as they are.
REVOKE ALL ON FUNCTION
    pgq.seq_getval(text),
    pgq.get_queue_info(),
    pgq.get_queue_info(text),
    pgq.get_consumer_info(),
    pgq.get_consumer_info(text),
    pgq.get_consumer_info(text, text),
    pgq.quote_fqname(text),
    pgq.version(),
    pgq.skydeck_revision(),
    pgq.batch_event_sql(bigint),
    pgq.batch_event_tables(bigint),
    pgq.find_tick_helper(int4, int8, timestamptz, int8, int8, interval),
    pgq.register_consumer(text, text),
    pgq.register_consumer_at(text, text, bigint),
    pgq.unregister_consumer(text, text),
    pgq.next_batch_info(text, text),
    pgq.next_batch(text, text),
    pgq.next_batch_custom(text, text, interval, int4, interval),
    pgq.get_batch_events(bigint),
    pgq.get_batch_info(bigint),
    pgq.get_batch_cursor(bigint, text, int4, text),
    pgq.get_batch_cursor(bigint, text, int4),
    pgq.event_retry(bigint, bigint, timestamptz),
    pgq.event_retry(bigint, bigint, integer),
    pgq.batch_retry(bigint, integer),
    pgq.force_tick(text),
    pgq.finish_batch(bigint),
    pgq.insert_event(text, text, text),
    pgq.insert_event(text, text, text, text, text, text, text),
    pgq.current_event_table(text),
    pgq.ticker(text, bigint, timestamptz, bigint),
    pgq.ticker(text),
    pgq.ticker(),
    pgq.maint_retry_events(),
    pgq.maint_rotate_tables_step1(text),
    pgq.maint_rotate_tables_step2(),
    pgq.maint_tables_to_vacuum(),
    pgq.maint_operations(),
    pgq.upgrade_schema(),
    pgq.grant_perms(text),
    pgq._grant_perms_from(text, text, text, text),
    pgq.tune_storage(text),
    pgq.seq_setval(text, int8),
    pgq.create_queue(text),
    pgq.drop_queue(text, bool),
    pgq.drop_queue(text),
    pgq.set_queue_config(text, text, text),
    pgq.insert_event_raw(text, bigint, timestamptz, integer, integer, text, text, text, text, text, text),
    pgq.event_retry_raw(text, text, timestamptz, bigint, timestamptz, integer, text, text, text, text, text, text),
    pgq._insert_gate(text, int4),
    pgq._insert_dynamic(int4, int4, bigint, timestamptz, int4, int4, text, text, text, text, text, text),
    pgq._insert_regen_tree(int4[], text[], int4, int4, text),
    pgq._insert_regen(boolean)
  FROM pgq_reader, pgq_writer, pgq_admin, public CASCADE;

-- anybody: monitoring and helpers
GRANT EXECUTE ON FUNCTION
    pgq.seq_getval(text),
    pgq.get_queue_info(),
    pgq.get_queue_info(text),
    pgq.get_consumer_info(),
    pgq.get_consumer_info(text),
    pgq.get_consumer_info(text, text),
    pgq.quote_fqname(text),
    pgq.version(),
    pgq.skydeck_revision()
  TO public;

-- consumers
GRANT EXECUTE ON FUNCTION
    pgq.batch_event_sql(bigint),
    pgq.batch_event_tables(bigint),
    pgq.find_tick_helper(int4, int8, timestamptz, int8, int8, interval),
    pgq.register_consumer(text, text),
    pgq.register_consumer_at(text, text, bigint),
    pgq.unregister_consumer(text, text),
    pgq.next_batch_info(text, text),
    pgq.next_batch(text, text),
    pgq.next_batch_custom(text, text, interval, int4, interval),
    pgq.get_batch_events(bigint),
    pgq.get_batch_info(bigint),
    pgq.get_batch_cursor(bigint, text, int4, text),
    pgq.get_batch_cursor(bigint, text, int4),
    pgq.event_retry(bigint, bigint, timestamptz),
    pgq.event_retry(bigint, bigint, integer),
    pgq.batch_retry(bigint, integer),
    pgq.force_tick(text),
    pgq.finish_batch(bigint)
  TO pgq_reader;

-- producers (the trigger functions are granted in pgq_triggers.sql)
GRANT EXECUTE ON FUNCTION
    pgq.insert_event(text, text, text),
    pgq.insert_event(text, text, text, text, text, text, text),
    pgq.current_event_table(text)
  TO pgq_writer;

-- administrators and pgqd; the two private insert helpers are reached from
-- insert_event_raw, which runs with the caller's rights
GRANT EXECUTE ON FUNCTION
    pgq.ticker(text, bigint, timestamptz, bigint),
    pgq.ticker(text),
    pgq.ticker(),
    pgq.maint_retry_events(),
    pgq.maint_rotate_tables_step1(text),
    pgq.maint_rotate_tables_step2(),
    pgq.maint_tables_to_vacuum(),
    pgq.maint_operations(),
    pgq.upgrade_schema(),
    pgq.grant_perms(text),
    pgq._grant_perms_from(text, text, text, text),
    pgq.tune_storage(text),
    pgq.seq_setval(text, int8),
    pgq.create_queue(text),
    pgq.drop_queue(text, bool),
    pgq.drop_queue(text),
    pgq.set_queue_config(text, text, text),
    pgq.insert_event_raw(text, bigint, timestamptz, integer, integer, text, text, text, text, text, text),
    pgq.event_retry_raw(text, text, timestamptz, bigint, timestamptz, integer, text, text, text, text, text, text),
    pgq._insert_gate(text, int4),
    pgq._insert_dynamic(int4, int4, bigint, timestamptz, int4, int4, text, text, text, text, text, text)
  TO pgq_admin;

REVOKE ALL ON TABLE pgq.consumer, pgq.queue, pgq.tick, pgq.subscription,
                    pgq.event_template, pgq.retry_queue
  FROM pgq_reader, pgq_writer, pgq_admin, public CASCADE;
GRANT SELECT ON TABLE pgq.consumer, pgq.queue, pgq.tick, pgq.subscription TO pgq_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE pgq.consumer, pgq.queue, pgq.tick, pgq.subscription TO pgq_admin;
GRANT SELECT ON TABLE pgq.consumer, pgq.queue, pgq.tick, pgq.subscription TO public;
-- event data is not public
GRANT SELECT ON TABLE pgq.event_template TO pgq_reader;
GRANT SELECT, INSERT, TRUNCATE ON TABLE pgq.event_template TO pgq_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE pgq.retry_queue TO pgq_admin;


-- ---------------------------------------------------------------------------
-- Finally: compile the insert path for the queues that exist now
-- ---------------------------------------------------------------------------

DO $finish$
BEGIN
    PERFORM pgq._insert_regen(true);
END
$finish$;
