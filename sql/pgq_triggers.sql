-- PgQ event triggers (logutriga, sqltriga, jsontriga) in PL/pgSQL, a drop-in
-- for the C triggers of pgq 3.5: same arguments, same event encodings, same
-- error texts.  Installed after sql/pgq.sql; re-running it is harmless.
-- skydeck-revision: 1

-- Design notes
--
-- Every row is taken apart through its record text (record_out), because
-- that is the only generic, executor-free way in PL/pgSQL to get the exact
-- text output of every column (DateStyle, bytea_output, extra_float_digits,
-- arrays ... all applied exactly as SPI_getvalue does in C).
--
-- Per-table facts (columns, types, primary key, parsed trigger arguments)
-- are cached per session in custom GUC placeholders, one pair per trigger:
--   pgq_tgcache.h<relid>  small, read on every row (first trigger of the
--                         table to get there; others: h<relid>_<name hash>)
--   pgq_tgcache.f<relid>_<hash of trigger name>  full plan, a text[] literal
-- and for the trigger in the table-wide slot, the same facts laid out for
-- the first tier below: pgq_tgcache.t<relid>.
--
-- Cost.  PL/pgSQL prepares every expression it evaluates once per
-- transaction (and per function: each trigger has its own copy of the
-- trigger function), so with one row per transaction the number and size of
-- the expressions reached cost more than the data.  Hence three tiers:
--   1. pgq._tg_hot_l/_j/_s: one call, shared by all tables, that checks the
--      t entry with a single comparison and builds the event from the row
--      text with plain string functions, for rows a regular expression
--      proves need no parsing (no quotes inside values, no comma in one;
--      logutriga: nothing to encode but ':', '+' and blanks);
--   2. the rest of the trigger function: the h entry, other stamp modes,
--      local role, rows that need parsing or encoding, backup; it also
--      revalidates the entries when the stamp moved;
--   3. pgq._tg_fire: every argument and option, row by row.
-- Each tier's output is the C triggers' (tests/sql/trigger_fast.sql pins the
-- first tier's boundaries).
-- The floor (PostgreSQL 15, one backend, TPC-B's 4 rows per transaction):
-- a PL/pgSQL trigger that only calls pgq.insert_event with constants adds
-- about as much per transaction as the whole C logutriga (skydeck bench pgq
-- prints both), and this one adds about 1.7 times that.  Measured and not
-- kept: per-table generated code called with NEW/OLD as record arguments
-- (slower: passing the records costs what the string work saves, and
-- per-table expressions are set up per row, not per transaction); INSERTs
-- straight into the event table, bypassing insert_event (saves 2-3 us a
-- transaction, but stubs of insert_event would no longer see the events);
-- per-transaction caches in set_config() (slower).
--
-- The C triggers drop such a cache from a relcache invalidation callback.
-- PL/pgSQL has no callbacks, but a changed table reaches this backend only
-- through a rebuild of its relation descriptor (own DDL at command end, other
-- sessions' DDL when the table is next locked), and every rebuild looks the
-- table up in pg_class through pg_class_oid_index.  So the cache carries a
-- stamp built from the index-scan count of pg_class_oid_index (see
-- _tg_mode/_tg_key): while the count has not moved, nothing about any table
-- can have changed for this backend.  When it moves (any rebuild, anywhere in
-- this backend or, through flushed statistics, in another one), one catalog
-- query compares a fingerprint of the table and the trigger arguments, and
-- only a real difference rebuilds the plan.  None of the trigger's own
-- catalog queries touch pg_class_oid_index, so they never move the count.
-- (A rolled-back subtransaction takes its set_config() calls with it; the
-- older entry that comes back holds an older stamp, right or refused.)
--
-- The cache lives in memory the session user can write, so nothing in it is
-- ever executed as SQL: override expressions (ev_*=, when=) are tokenized
-- again from TG_ARGV for every event, and cached names only ever reach
-- dynamic SQL through %I quoting.  A session that overwrites its cache can
-- make its own writes produce different events -- but it gains nothing: as
-- with the C triggers, the events are written through pgq.insert_event with
-- the rights of the user changing the table, so that user must hold
-- pgq_writer, which lets it write any event to any queue directly
-- (tests/sql/trigger_perms.sql pins this).

-- ----------------------------------------------------------------------
-- Errors that the C triggers raise with elog(ERROR) carry SQLSTATE XX000.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_error(msg text)
returns void language plpgsql as $$
begin
    raise exception using message = msg, errcode = 'XX000';
end;
$$;

-- ----------------------------------------------------------------------
-- URL-encode text: unreserved A-Z a-z 0-9 _ . - stay, space becomes '+',
-- every other byte (in the database encoding) becomes %xx, lowercase.
-- keep_commas leaves ',' alone: the fast row encoder uses commas as field
-- separators and has already proven that no value contains one.
-- Works per distinct unsafe character, so the cost follows the variety of
-- special characters, not the length of the text; runs of blanks (char(n)
-- padding) go eight at a time.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_urlenc(s text, keep_commas boolean default false)
returns text language plpgsql immutable strict as $$
declare
    res text;
    todo text;
    c text;
    enc text;
begin
    if keep_commas then
        if s !~ '[^-A-Za-z0-9_., ]' then
            return replace(replace(s, '        ', '++++++++'), ' ', '+');
        end if;
    elsif s !~ '[^-A-Za-z0-9_. ]' then
        return replace(replace(s, '        ', '++++++++'), ' ', '+');
    end if;
    res := s;
    -- '%' first: the escapes produced below contain it
    if strpos(res, '%') > 0 then
        res := replace(res, '%', '%25');
    end if;
    -- the usual suspects (dates, times, numbers, lists, mail, paths) in
    -- one go; the loop below handles whatever is left
    res := replace(replace(replace(replace(replace(replace(replace(replace(res,
               ':', '%3a'), '+', '%2b'), '/', '%2f'), '@', '%40'), '''', '%27'), '"', '%22'),
               '(', '%28'), ')', '%29');
    if not keep_commas then
        res := replace(res, ',', '%2c');
    end if;
    if res !~ '[^-A-Za-z0-9_.,% ]' then
        return replace(replace(res, '        ', '++++++++'), ' ', '+');
    end if;
    if keep_commas then
        todo := regexp_replace(res, '[-A-Za-z0-9_., %]+', '', 'g');
    else
        todo := regexp_replace(res, '[-A-Za-z0-9_. %]+', '', 'g');
    end if;
    while todo <> '' loop
        c := left(todo, 1);
        if ascii(c) < 128 then
            enc := '%' || lpad(to_hex(ascii(c)), 2, '0');
        else
            enc := regexp_replace(encode(convert_to(c, pg_catalog.getdatabaseencoding()), 'hex'),
                                  '(..)', E'%\\1', 'g');
        end if;
        res := replace(res, c, enc);
        todo := replace(todo, c, '');
    end loop;
    return replace(replace(res, '        ', '++++++++'), ' ', '+');
end;
$$;

-- ----------------------------------------------------------------------
-- Exact text values of a row from its record text; NULL when the record
-- does not have n fields (the table changed under the cached plan).
-- record_out quotes a value when it is empty or holds  " \ ( ) ,  or white
-- space, doubling " and \ inside the quotes; NULL is an empty field.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_values(r text, n integer)
returns text[] language plpgsql immutable strict as $$
declare
    x text;
    a text[];
    p text[];
    tok text[];
    m integer;
    i integer;
    j integer;
    lo integer;
    hi integer;
    cur text;
begin
    if n = 0 then
        if r = '()' then
            return '{}';
        end if;
        return null;
    end if;
    -- Common case: no doubled quote means no empty strings and no quotes
    -- inside values, so every '"' is a field delimiter and can go.
    if strpos(r, '""') = 0 then
        x := replace(btrim(r, '()'), '"', '');
        if x = '' then
            if n = 1 then
                return array[null::text];
            end if;
            return null;
        end if;
        if strpos(x, E'\\') > 0 then
            x := replace(x, E'\\\\', E'\\');
        end if;
        a := string_to_array(x, ',', '');
        if cardinality(a) = n then
            return a;
        end if;
    end if;
    -- General case: split on every quote.  Odd pieces lie outside quotes and
    -- carry the unquoted fields and separators, even pieces are quoted
    -- content.  An empty outside piece between two quoted pieces is a
    -- doubled quote inside one value: real neighbours always have a comma.
    p := string_to_array(substr(r, 2, length(r) - 2), '"');
    m := coalesce(cardinality(p), 0);
    a := '{}';
    for i in 1 .. m loop
        if i % 2 = 0 then
            cur := coalesce(cur, '') || p[i];
        elsif i > 1 and i < m and p[i] = '' then
            cur := cur || '"';
        else
            if p[i] = '' then
                tok := array[''];
            else
                tok := string_to_array(p[i], ',');
            end if;
            lo := 1;
            hi := cardinality(tok);
            if i > 1 then
                a := a || replace(cur, E'\\\\', E'\\');
                cur := null;
                lo := 2;
            end if;
            if i < m then
                hi := hi - 1;
            end if;
            for j in lo .. hi loop
                a := a || nullif(tok[j], '');
            end loop;
        end if;
    end loop;
    if cardinality(a) <> n then
        return null;
    end if;
    return a;
end;
$$;

-- ----------------------------------------------------------------------
-- Membership in a comma/space separated name list, with the C triggers'
-- exact matching rules (case sensitive, separators: ',' and C isspace,
-- search resumes one character past a rejected match).
-- ----------------------------------------------------------------------
create or replace function pgq._tg_strlist_contains(lst text, s text)
returns boolean language plpgsql immutable strict as $$
declare
    pos integer := 1;
    p integer;
    n integer := length(s);
    total integer := length(lst);
    c text;
begin
    loop
        p := strpos(substr(lst, pos), s);
        if p = 0 then
            return false;
        end if;
        p := pos + p - 1;
        pos := p + n;
        if pos <= total then
            pos := pos + 1;
        end if;
        if p > 1 then
            c := substr(lst, p - 1, 1);
            if c !~ E'^[ \\t\\n\\v\\f\\r,]$' then
                continue;
            end if;
        end if;
        c := substr(lst, p + n, 1);
        if c = '' or c ~ E'^[ \\t\\n\\v\\f\\r,]$' then
            return true;
        end if;
    end loop;
end;
$$;

-- ----------------------------------------------------------------------
-- Rewrite an override expression: every word token that is exactly a column
-- name becomes a field reference of the row passed as $1.  The tokenizer
-- follows the C triggers' one (words may hold dots and quoted parts, string
-- and dollar-quoted literals and comments are skipped verbatim), so the same
-- expressions are accepted and the same ones fail with 'QB: syntax error'.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_rewrite(expr text, names text[], stdstr boolean)
returns text language plpgsql immutable as $$
declare
    ch text[];
    n integer;
    i integer := 1;
    st integer;
    lvl integer;
    j integer;
    tl integer;
    w text;
    tag text;
    res text := '';
    ws constant text := E'^[ \\t\\n\\v\\f\\r]$';
begin
    if expr = '' then
        return '';
    end if;
    ch := regexp_split_to_array(expr, '');
    n := cardinality(ch);
    while i <= n loop
        st := i;
        if ch[i] ~ ws or (i < n and ch[i] = '-' and ch[i + 1] = '-')
           or (i < n and ch[i] = '/' and ch[i + 1] = '*') then
            loop
                if i < n and ch[i] = '-' and ch[i + 1] = '-' then
                    while i <= n and ch[i] <> E'\n' loop
                        i := i + 1;
                    end loop;
                elsif i < n and ch[i] = '/' and ch[i + 1] = '*' then
                    lvl := 1;
                    i := i + 2;
                    while lvl > 0 loop
                        if i < n and ch[i] = '*' and ch[i + 1] = '/' then
                            lvl := lvl - 1;
                            i := i + 2;
                        elsif i < n and ch[i] = '/' and ch[i + 1] = '*' then
                            lvl := lvl + 1;
                            i := i + 2;
                        elsif i > n then
                            perform pgq._tg_error('QB: syntax error');
                        else
                            i := i + 1;
                        end if;
                    end loop;
                elsif i <= n and ch[i] ~ ws then
                    while i <= n and ch[i] ~ ws loop
                        i := i + 1;
                    end loop;
                else
                    exit;
                end if;
            end loop;
            res := res || array_to_string(ch[st:i - 1], '');
        elsif (ch[i] = '''' and not stdstr) or (i < n and ch[i] in ('E', 'e') and ch[i + 1] = '''') then
            -- string with backslash escapes
            if ch[i] = '''' then
                i := i + 1;
            else
                i := i + 2;
            end if;
            while i <= n loop
                if ch[i] = '''' then
                    exit when i = n or ch[i + 1] <> '''';
                    i := i + 1;
                elsif ch[i] = E'\\' then
                    if i = n then
                        perform pgq._tg_error('QB: syntax error');
                    end if;
                    i := i + 1;
                end if;
                i := i + 1;
            end loop;
            if i > n then
                perform pgq._tg_error('QB: syntax error');
            end if;
            i := i + 1;
            res := res || array_to_string(ch[st:i - 1], '');
        elsif ch[i] = '''' then
            i := i + 1;
            while i <= n loop
                if ch[i] = '''' then
                    exit when i = n or ch[i + 1] <> '''';
                    i := i + 1;
                end if;
                i := i + 1;
            end loop;
            if i > n then
                perform pgq._tg_error('QB: syntax error');
            end if;
            i := i + 1;
            res := res || array_to_string(ch[st:i - 1], '');
        elsif ch[i] ~ '^[A-Za-z_]$' then
            loop
                while i <= n and ch[i] ~ '^[A-Za-z0-9_.]$' loop
                    i := i + 1;
                end loop;
                exit when i > n or ch[i] <> '"';
                i := i + 1;
                while i <= n loop
                    if ch[i] = '"' then
                        exit when i = n or ch[i + 1] <> '"';
                        i := i + 1;
                    end if;
                    i := i + 1;
                end loop;
                if i > n then
                    perform pgq._tg_error('QB: syntax error');
                end if;
                i := i + 1;
            end loop;
            w := array_to_string(ch[st:i - 1], '');
            if w = any (names) then
                res := res || '($1).' || quote_ident(w);
            else
                res := res || w;
            end if;
        elsif ch[i] ~ '^[0-9]$' or (i < n and ch[i] = '.' and ch[i + 1] ~ '^[0-9]$') then
            while i <= n loop
                if ch[i] ~ '^[0-9.]$' then
                    i := i + 1;
                elsif ch[i] in ('e', 'E') and i < n and ch[i + 1] ~ '^[-+.0-9]$' then
                    i := i + 2;
                else
                    exit;
                end if;
            end loop;
            res := res || array_to_string(ch[st:i - 1], '');
        elsif ch[i] = '$' then
            if i < n and ch[i + 1] ~ '^[0-9]$' then
                i := i + 2;
                while i <= n and ch[i] ~ '^[0-9]$' loop
                    i := i + 1;
                end loop;
                w := array_to_string(ch[st:i - 1], '');
                if w = any (names) then
                    res := res || '($1).' || quote_ident(w);
                else
                    res := res || w;
                end if;
            elsif i < n and ch[i + 1] ~ '^[A-Za-z_$]$' then
                -- dollar quote: the tag runs to the next '$'
                j := i + 1;
                while j <= n and ch[j] <> '$' loop
                    j := j + 1;
                end loop;
                if j > n then
                    perform pgq._tg_error('QB: syntax error');
                end if;
                tl := j - i + 1;
                tag := array_to_string(ch[i:j], '');
                j := j + 1;
                loop
                    while j <= n and ch[j] <> '$' loop
                        j := j + 1;
                    end loop;
                    if j > n then
                        perform pgq._tg_error('QB: syntax error');
                    end if;
                    exit when array_to_string(ch[j:j + tl - 1], '') = tag;
                    j := j + 1;
                end loop;
                i := j + tl;
                res := res || array_to_string(ch[st:i - 1], '');
            else
                perform pgq._tg_error('QB: syntax error');
            end if;
        elsif ch[i] = '.' then
            perform pgq._tg_error('QB: syntax error');
        else
            res := res || ch[i];
            i := i + 1;
        end if;
    end loop;
    return res;
end;
$$;

-- ----------------------------------------------------------------------
-- Base type of a (possibly nested) domain.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_basetype(t oid)
returns oid language sql stable strict as $$
    with recursive d(oid, base, depth) as (
        select y.oid, y.typbasetype, 0 from pg_catalog.pg_type y where y.oid = $1
        union all
        select y.oid, y.typbasetype, d.depth + 1
          from d join pg_catalog.pg_type y on y.oid = d.base
         where d.base <> 0 and d.depth < 100
    )
    select oid from d order by depth desc limit 1
$$;

-- ----------------------------------------------------------------------
-- What a cached plan depends on: non-dropped columns with name, type,
-- typmod and collation, and the primary key index column names.
-- (PL/pgSQL rather than SQL: its query plan is kept between calls.)
-- ----------------------------------------------------------------------
create or replace function pgq._tg_fingerprint(relid oid)
returns text language plpgsql stable strict as $$
begin
    return (select coalesce((select array_agg(row(a.attname, a.atttypid, a.atttypmod, a.attcollation)::text
                                              order by a.attnum)::text
                               from pg_catalog.pg_attribute a
                              where a.attrelid = relid and a.attnum > 0 and not a.attisdropped), '{}')
                || ' ' ||
                   coalesce((select array_agg(k.attname::text order by k.attnum)::text
                               from pg_catalog.pg_index i, pg_catalog.pg_attribute k
                              where i.indrelid = relid and k.attrelid = i.indexrelid
                                and i.indisprimary and k.attnum > 0 and not k.attisdropped), '{}'));
end;
$$;

-- ----------------------------------------------------------------------
-- Primary key column names as the C triggers see them: the attribute names
-- of the primary key index (they keep the name a column had when the index
-- was built), in index column order, INCLUDE columns too.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_pkey_names(relid oid)
returns text[] language plpgsql stable strict as $$
begin
    return (select coalesce(array_agg(k.attname::text order by k.attnum), '{}')
              from pg_catalog.pg_index i, pg_catalog.pg_attribute k
             where i.indrelid = relid and k.attrelid = i.indexrelid
               and i.indisprimary and k.attnum > 0 and not k.attisdropped);
end;
$$;

-- ----------------------------------------------------------------------
-- Parse trigger arguments (after the queue name) in order, with the C
-- triggers' errors in the same order.  Override expressions are checked
-- when first seen (tokenized and parse-analysed, not executed); a repeated
-- override keeps the first one.
-- Result: [1] flags (S skip, B backup, D deny), [2] ignore list or NULL,
-- [3] pkey list or NULL, [4..10] expressions for ev_type, ev_data,
-- ev_extra1..4, when (NULL when absent).
-- ----------------------------------------------------------------------
create or replace function pgq._tg_args(args text[], is_trunc boolean, relid oid, names text[], stdstr boolean)
returns text[] language plpgsql as $$
declare
    res text[] := array[''::text, null, null, null, null, null, null, null, null, null];
    a text;
    i integer;
    fld integer;
    q text;
begin
    if args is null then
        return res;
    end if;
    for i in array_lower(args, 1) + 1 .. array_upper(args, 1) loop
        a := args[i];
        fld := null;
        if a = 'SKIP' then
            res[1] := res[1] || 'S';
        elsif a like 'ignore=%' then
            res[2] := substr(a, 8);
        elsif a like 'pkey=%' then
            res[3] := substr(a, 6);
        elsif a = 'backup' then
            res[1] := res[1] || 'B';
        elsif a = 'deny' then
            res[1] := res[1] || 'D';
        elsif a like 'ev\_extra4=%' then
            fld := 9; q := substr(a, 11);
        elsif a like 'ev\_extra3=%' then
            fld := 8; q := substr(a, 11);
        elsif a like 'ev\_extra2=%' then
            fld := 7; q := substr(a, 11);
        elsif a like 'ev\_extra1=%' then
            fld := 6; q := substr(a, 11);
        elsif a like 'ev\_data=%' then
            fld := 5; q := substr(a, 9);
        elsif a like 'ev\_type=%' then
            fld := 4; q := substr(a, 9);
        elsif a like 'when=%' then
            fld := 10; q := substr(a, 6);
        else
            perform pgq._tg_error('bad param to pgq trigger');
        end if;
        if fld is not null then
            if is_trunc then
                perform pgq._tg_error('Custom expressions do not make sense for truncater trigger');
            end if;
            if res[fld] is null then
                -- parse analysis only: PREPARE does not plan, so errors that
                -- depend on values surface per event as in C
                execute 'prepare pgq_tg_check(' || relid::regclass::text || ') as select '
                        || pgq._tg_rewrite(q, names, stdstr);
                deallocate pgq_tg_check;
                res[fld] := q;
            end if;
        end if;
    end loop;
    if is_trunc then
        if res[2] is not null then
            perform pgq._tg_error('Column ignore does not make sense for truncate trigger');
        end if;
        if res[3] is not null then
            perform pgq._tg_error('Custom pkey_list does not make sense for truncate trigger');
        end if;
        if strpos(res[1], 'B') > 0 then
            perform pgq._tg_error('Backup does not make sense for truncate trigger');
        end if;
    end if;
    return res;
end;
$$;

-- ----------------------------------------------------------------------
-- Cache validity stamps (see the top of the file).
-- Mode G: this database's cumulative scan count of pg_class_oid_index
-- (flushed plus this backend's pending scans) and the statistics reset time.
-- It only grows, so an unchanged value proves that no relation descriptor
-- was rebuilt in this backend since, across transactions.  Needs PostgreSQL
-- 15 (before, reading it loads a statistics file) and not 'snapshot'
-- consistency (which copies all statistics in each transaction).
-- Mode T elsewhere: transaction id and this transaction's pending scan count;
-- another transaction re-checks the catalogs once.  Other sessions cannot
-- alter the table while this transaction holds its lock on it.
-- Mode '': counters are off, every row re-checks the catalogs.
-- Readers also check track_counts: switching it off freezes the counts.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_mode()
returns text language plpgsql stable as $$
begin
    if current_setting('track_counts') <> 'on' then
        return '';
    elsif current_setting('server_version_num')::integer >= 150000
          and current_setting('stats_fetch_consistency', true) in ('cache', 'none') then
        return 'G';
    end if;
    return 'T';
end;
$$;

-- Volatile so that it is inlined into the caller's expression.
create or replace function pgq._tg_key(mode text, dboid text)
returns text language sql volatile as $$
    select case
        when $1 = 'G' then
            (pg_catalog.pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::pg_catalog.regclass)
             + pg_catalog.pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::pg_catalog.regclass))::text
        when $1 = 'T' then
            pg_catalog.txid_current()::text || '.'
            || pg_catalog.pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::pg_catalog.regclass)::text
        else '-' end
$$;

-- ----------------------------------------------------------------------
-- The cache of one trigger.
--
-- Hot entry, GUC pgq_tgcache.h<relid> (or h<relid>_<hash> when another
-- trigger of the table holds that slot), chr(31)-separated:
--   1 stamp  2 trigger name  3 kind (L/S/J)
--   4 operations on the fast path ('INSERT DELETE UPDATE', or fewer)
--   5 n (columns)  6 format() template of the data (L: URL-encoded row,
--   S: insert values)  7 pkey list  8 pkey column positions
--   9 hash of what the entry was built from  10 stamp mode (G, T, empty)
--   11 database oid  12 statistics reset time  13 queue name
--   14 ev_type for INSERT  15 ev_type for UPDATE  16 ev_type for DELETE
--   17 ev_extra1 (schema.table)  18 N when the trigger returns NULL
--   19 B with backup  20 S: quoted identifiers of the key columns with
--   format() slots, for WHERE  21 J: F when row_to_json renders every
--   column as C does, P when the row is built column by column  22 J:
--   JSON keys, chr(30)-separated  23 J: per column b bool, i/l integer,
--   D date, T timestamp, Z timestamptz, s string  24 first tier pattern
--   (L, S)  25 operations on the first tier (initials)  26 S: quoted
--   column names, chr(30)-separated
--
-- First tier entry, GUC pgq_tgcache.t<relid>: fields of the hot entry in
-- the table-wide slot, rearranged for pgq._tg_hot_* (see _tg_put; a new
-- layout needs a new name: sessions keep their settings across upgrades):
--   1 what the entry is valid for, chr(30)-separated: stamp, reset time,
--   track_counts, whether session_replication_role is not local, kind,
--   trigger name (- unless the stamp mode is G)  2 database oid  3 N or R
--   4 queue  5..7 ev_type for INSERT, UPDATE, DELETE, empty when not on
--   the first tier  8 ev_extra1  9 UPDATE: L: a format() template that
--   rebuilds the new row's text up to the last key column from its
--   comma-separated pieces; J: how many pieces to cut off the end for that
--   10 pattern (L, S)  11 format() template of the data (L, S)  12 S: of
--   the key condition  13 S: quoted column names, chr(30)-separated
--   14 S: key column positions between commas (,1,3,)
-- (split_part() walks an entry from its start: short fields first)
--
-- Full plan, GUC pgq_tgcache.f<relid>_<hash>, a text[]:
--   1 hash as in the hot entry  2 trigger name  3 kind  4 -  5 argument text
--   6 n  7 flags  8 pkey list  9 pkey as JSON array
--   10 json kind per column: b bool, i int2/int4, l int8, d date/timestamp(tz),
--      s everything else (JSON string of the text output)
--   11 equality class per column: x text equality is type equality,
--      n numeric, f float8, r float4, i interval, j jsonb, g other (compare
--      with the type's '=' on the records)
--   12 pkey mask  13 skip mask (ignored or magic)  14 magic map (- none,
--      t ev_type, d ev_data, 1-4 ev_extraN, ? unknown)
--   15 standard_conforming_strings when the arguments were parsed
--   16 logutriga format() template  17 stored generated column mask
--   18.. column names, then URL-encoded names, then JSON names, then
--      quoted identifiers (n each)
-- flags: S skip, B backup, D deny, I ignore= given, P pkey= given,
--   M magic columns, E override expressions
--
-- The hash covers the table fingerprint, the trigger arguments, timing and
-- the table's name: the entry holds strings derived from all of them.  Like
-- the C triggers, which keep "schema.table" until the table's relcache entry
-- is invalidated, a renamed schema shows up once something makes this
-- backend rebuild the table's descriptor.
-- ----------------------------------------------------------------------

-- Store the hot entry; the table-wide slot also feeds the first tier.
create or replace function pgq._tg_put(hslot text, relid oid, hs text)
returns void language plpgsql stable as $$
declare
    h text[] := string_to_array(hs, chr(31));
    n integer := h[5]::integer;
    p integer;
    key text;
begin
    perform set_config(hslot, hs, false);
    if hslot = 'pgq_tgcache.h' || relid::text then
        select coalesce(max(x::integer), 0) into p from unnest(string_to_array(h[8], ',')) x;
        if h[3] = 'J' then
            key := (n - p)::text;
        else
            select coalesce(string_agg('%' || i::text || '$s', ','), '')
                   || case when p < n and p > 0 then ',' else '' end
              into key from generate_series(1, p) i;
        end if;
        perform set_config('pgq_tgcache.t' || relid::text, array_to_string(array[
                case when h[10] = 'G'
                     then concat_ws(chr(30), h[1], h[12], 'on', 't', h[3], h[2]) else '-' end,
                h[11], h[18], h[13],
                case when strpos(h[25], 'I') > 0 then h[14] else '' end,
                case when strpos(h[25], 'U') > 0 then h[15] else '' end,
                case when strpos(h[25], 'D') > 0 then h[16] else '' end,
                h[17], key, h[24], h[6], h[20], h[26], ',' || h[8] || ','], chr(31)), false);
    end if;
end;
$$;

-- Build both entries from the catalogs; argument errors surface here.
create or replace function pgq._tg_fill(kind text, relid oid, tgname text, args text[],
                                        tg_when text, nsp text, tbl text)
returns text language plpgsql stable as $$
declare
    fp text := pgq._tg_fingerprint(relid);
    fph text := md5(fp || ' ' || coalesce(args::text, '') || ' ' || tg_when || ' '
                    || nsp || '.' || tbl);
    p text[];
    a text[];
    names text[];
    types oid[];
    typmods integer[];
    colls oid[];
    pk text[];
    n integer;
    i integer;
    flags text;
    hot text := '';
    jk text := '';
    jk2 text := '';
    jkeys text := '';
    eq text := '';
    pkm text := '';
    skm text := '';
    mg text := '';
    tmpl text := '';
    stmpl text := '';
    scols text := '';
    swhere text := '';
    pklist text;
    pkjson text;
    pkpos text := '';
    pmax integer := 0;
    fld text;
    t1ops text := '';
    t1pat text;
    krow text;
    urln text[] := '{}';
    jsn text[] := '{}';
    idn text[] := '{}';
    stdstr boolean := current_setting('standard_conforming_strings') = 'on';
    jfast boolean := true;
    ufast boolean := true;
    sfast boolean := true;
    t oid;
    b oid;
    bt record;
    c text;
    nm text;
    gen text;
    dboid oid;
    hs text;
    stamp text := '';
    mode text;
    jtab text;
    slot text := relid::text || '_' || to_hex(hashtext(tgname));
    hslot text := 'pgq_tgcache.h' || relid::text;
    tname text := case when strpos(tgname, chr(31)) = 0 then tgname else 'md5:' || md5(tgname) end;
    queue text := args[array_lower(args, 1)];
begin
    -- one table-wide hot slot keeps the per-row lookup cheap; it belongs
    -- to whichever trigger claimed it first
    hs := current_setting(hslot, true);
    if coalesce(hs, '') <> '' and split_part(hs, chr(31), 2) <> tname then
        hslot := 'pgq_tgcache.h' || slot;
    end if;
    select coalesce(array_agg(x.attname::text order by x.attnum), '{}'),
           coalesce(array_agg(x.atttypid order by x.attnum), '{}'),
           coalesce(array_agg(x.atttypmod order by x.attnum), '{}'),
           coalesce(array_agg(x.attcollation order by x.attnum), '{}'),
           coalesce(string_agg(case when x.attgenerated = 's' then '1' else '0' end, '' order by x.attnum), '')
      into names, types, typmods, colls, gen
      from pg_catalog.pg_attribute x
     where x.attrelid = relid and x.attnum > 0 and not x.attisdropped;
    n := cardinality(names);
    pk := pgq._tg_pkey_names(relid);

    a := pgq._tg_args(args, false, relid, names, stdstr);
    flags := a[1];
    if a[2] is not null then
        flags := flags || 'I';
    end if;
    if a[3] is not null then
        flags := flags || 'P';
        pklist := a[3];
        select '[' || string_agg(to_json(z)::text, ',') || ']' into pkjson
          from unnest(regexp_split_to_array(a[3], ',')) z;
    else
        pklist := array_to_string(pk, ',');
        select coalesce('[' || string_agg(to_json(z)::text, ',') || ']', '[]') into pkjson
          from unnest(pk) z;
    end if;
    if a[4] is not null or a[5] is not null or a[6] is not null or a[7] is not null
       or a[8] is not null or a[9] is not null or a[10] is not null then
        flags := flags || 'E';
    end if;

    for i in 1 .. n loop
        nm := names[i];
        t := types[i];
        b := pgq._tg_basetype(t);
        select y.typtype, y.typcategory, y.typelem into bt from pg_catalog.pg_type y where y.oid = b;

        -- JSON rendering as the C code picks it: by the column's own type
        c := case t when 16 then 'b' when 21 then 'i' when 23 then 'i' when 20 then 'l'
                    when 1082 then 'd' when 1114 then 'd' when 1184 then 'd' else 's' end;
        jk := jk || c;
        -- the fast path needs to tell the date/time types apart
        jk2 := jk2 || case t when 1082 then 'D' when 1114 then 'T' when 1184 then 'Z' else c end;
        -- row_to_json gives the same text only for these: the typed ones
        -- above, and plain string-like builtins (also behind a domain)
        if c = 's' and not (b < 16384 and bt.typtype in ('b', 'r', 'm') and bt.typelem = 0
                            and b not in (16, 20, 21, 23, 700, 701, 1700, 114, 3802, 1082, 1114, 1184)) then
            jfast := false;
        end if;

        -- equality the C code uses: the type's default operator, with text
        -- comparison for arrays and for types without one
        if bt.typcategory = 'A' then
            c := 'x';
        elsif b = 1700 then
            c := 'n';
        elsif b = 701 then
            c := 'f';
        elsif b = 700 then
            c := 'r';
        elsif b = 1186 then
            c := 'i';
        elsif b = 3802 then
            c := 'j';
        elsif b in (25, 1043, 19, 1042) then
            if b = 1042 and typmods[i] < 0 then
                c := 'g';
            elsif exists (select 1 from pg_catalog.pg_collation co
                           where co.oid = colls[i] and not co.collisdeterministic) then
                c := 'g';
            else
                c := 'x';
            end if;
        elsif b in (16, 17, 18, 20, 21, 23, 26, 27, 28, 29, 114, 142, 650, 774, 790, 829, 869,
                    1082, 1083, 1114, 1184, 1266, 1560, 1562, 2950, 3220, 3614, 3615, 5069) then
            c := 'x';
        elsif bt.typtype = 'e' then
            c := 'x';
        elsif bt.typtype in ('c', 'r', 'm') then
            c := 'g';
        elsif exists (select 1 from pg_catalog.pg_opclass oc, pg_catalog.pg_am am
                       where am.oid = oc.opcmethod and am.amname in ('btree', 'hash')
                         and oc.opcdefault and oc.opcintype = b) then
            c := 'g';
        else
            c := 'x';
        end if;
        eq := eq || c;

        if nm like '\_pgq\_ev\_%' then
            c := case nm when '_pgq_ev_type' then 't' when '_pgq_ev_data' then 'd'
                         when '_pgq_ev_extra1' then '1' when '_pgq_ev_extra2' then '2'
                         when '_pgq_ev_extra3' then '3' when '_pgq_ev_extra4' then '4'
                         else '?' end;
            mg := mg || c;
            pkm := pkm || '0';
            skm := skm || '1';
            if strpos(flags, 'M') = 0 then
                flags := flags || 'M';
            end if;
        else
            mg := mg || '-';
            if pgq._tg_strlist_contains(pklist, nm) then
                pkm := pkm || '1';
                if pkpos <> '' then
                    pkpos := pkpos || ',';
                end if;
                pkpos := pkpos || i::text;
                pmax := i;
                if substr(eq, i, 1) <> 'x' then
                    ufast := false;
                end if;
            else
                pkm := pkm || '0';
            end if;
            if a[2] is not null and pgq._tg_strlist_contains(a[2], nm) then
                skm := skm || '1';
            else
                skm := skm || '0';
            end if;
        end if;

        urln := urln || pgq._tg_urlenc(nm);
        jsn := jsn || to_json(nm)::text;
        idn := idn || quote_ident(nm);
        if substr(skm, i, 1) = '0' then
            if tmpl <> '' then
                tmpl := tmpl || '&';
            end if;
            tmpl := tmpl || replace(urln[i], '%', '%%') || '%' || i::text || '$s';
        end if;
    end loop;

    if strpos(skm, '1') > 0 then
        jfast := false;
    end if;
    if strpos(flags, 'I') > 0 then
        ufast := false;
    end if;
    -- BEFORE UPDATE needs the stale generated values C sees (NEW has NULLs)
    if strpos(gen, '1') > 0 then
        ufast := false;
    end if;
    -- sqltriga compares every column on update
    if eq ~ '[^x]' then
        sfast := false;
    end if;

    -- sqltriga: insert values in column order, key columns for WHERE
    for i in 1 .. n loop
        if substr(skm, i, 1) = '0' then
            if scols <> '' then
                scols := scols || ',';
                stmpl := stmpl || ',';
            end if;
            scols := scols || replace(idn[i], '%', '%%');
            stmpl := stmpl || '%' || i::text || '$L';
        end if;
        if substr(pkm, i, 1) = '1' then
            if swhere <> '' then
                swhere := swhere || ' and ';
            end if;
            swhere := swhere || replace(idn[i], '%', '%%') || '=%' || i::text || '$L';
        end if;
    end loop;

    if strpos(flags, 'M') = 0 and strpos(flags, 'E') = 0 and strpos(flags, 'D') = 0
       and (kind <> 'J' or strpos(skm, '1') = 0) then
        hot := 'INSERT';
        if pklist <> '' then
            hot := hot || ' DELETE';
            if ufast and (kind <> 'S' or (sfast and pkpos <> '')) then
                hot := hot || ' UPDATE';
            end if;
        end if;
    end if;
    -- a SKIP in an AFTER trigger is an error the general path reports
    if strpos(flags, 'S') > 0 and tg_when = 'AFTER' then
        hot := '';
    end if;
    -- the chr(31)-separated entry cannot hold these (nor sqltriga's column
    -- list, which the first tier splits at chr(30))
    if kind = 'S' and array_to_string(idn, '') ~ E'[\x1e\x1f]' then
        hot := '';
        scols := '';
        stmpl := '';
        swhere := '';
    end if;
    if strpos(tgname, chr(31)) > 0 or strpos(pklist, chr(31)) > 0 or strpos(queue, chr(31)) > 0
       or strpos(nsp || tbl, chr(31)) > 0 then
        hot := '';
    end if;

    -- First tier (pgq._tg_hot_*): the operations it takes (t1ops) and a
    -- regular expression that the row text, after the operation's initial,
    -- must match for the event to be built by plain string functions
    -- (jsontriga needs none).  It depends on the table's shape only, so
    -- tables share its compiled form (the backend caches 32 of them).
    if hot <> '' and n > 0 and strpos(flags, 'B') = 0 and (kind <> 'J' or jfast) then
        t1ops := case when strpos(hot, 'INSERT') > 0 then 'I' else '' end
                 || case when strpos(hot, 'UPDATE') > 0 then 'U' else '' end
                 || case when strpos(hot, 'DELETE') > 0 then 'D' else '' end;
        if kind = 'L' then
            -- values that need nothing but ':', '+' and ' ' encoded: commas
            -- only between values, quotes only around them (the ones that
            -- hold blanks), and never two quotes in a row (an empty value,
            -- or a quote in a value)
            t1pat := '^[' || t1ops || E']\\((?:[-A-Za-z0-9_.:+,]|"[-A-Za-z0-9_.:+ ]+"(?!"))*\\)$';
        elsif kind = 'S' then
            -- any value without quote, backslash, parenthesis or chr(2), no
            -- comma in quotes and never two quotes in a row; UPDATE and
            -- DELETE: no NULL among the key values (UPDATE matches the new
            -- row's text followed by the old one's)
            fld := E'(?:[^"\\\\(),\x02]*|"[^"\\\\(),\x02]+")';
            t1pat := E'(?:[^"\\\\()\x02]|"[^"\\\\(),\x02]+"(?!"))*\\)$';
            if pkpos <> '' and pmax <= 100 then
                krow := '';
                for i in 1 .. pmax loop
                    if i > 1 then
                        krow := krow || ',';
                    end if;
                    if substr(pkm, i, 1) = '1' then
                        krow := krow || E'(?:[^"\\\\(),\x02]+|"[^"\\\\(),\x02]+")';
                    else
                        krow := krow || fld;
                    end if;
                end loop;
                krow := krow || '(?:,' || fld || E')*\\)';
            else
                t1ops := replace(replace(t1ops, 'D', ''), 'U', '');
            end if;
            t1pat := concat_ws('|',
                         case when strpos(t1ops, 'I') > 0 then E'^I\\(' || t1pat end,
                         case when strpos(t1ops, 'U') > 0 then E'^U\\(' || krow || E'\\(' || t1pat end,
                         case when strpos(t1ops, 'D') > 0 then E'^D\\(' || krow || '$' end);
        end if;
    end if;

    jtab := '"table":[' || to_json(nsp)::text || ',' || to_json(tbl)::text || '],"pkey":' || pkjson || '}';
    jkeys := array_to_string(jsn, chr(30));
    select d.oid into dboid from pg_catalog.pg_database d where d.datname = current_database();
    -- taken last: the catalog reads above count themselves
    mode := pgq._tg_mode();
    if mode <> '' then
        stamp := pgq._tg_key(mode, dboid::text);
    end if;
    p := array[fph, tgname, kind, '', args::text, n::text, flags, pklist, pkjson,
               jk, eq, pkm, skm, mg, case when stdstr then 'on' else 'off' end, tmpl, gen]
         || names || urln || jsn || idn;
    perform set_config('pgq_tgcache.f' || slot, p::text, false);
    hs := array_to_string(array[
            stamp, tname, kind, hot, n::text,
            case kind when 'L' then tmpl when 'S' then '(' || scols || ') values (' || stmpl || ')' else '' end,
            case when strpos(pklist, chr(31)) = 0 then pklist else '' end,
            pkpos, fph, mode, dboid::text,
            coalesce(pg_catalog.pg_stat_get_db_stat_reset_time(dboid)::text, ''),
            case when hot <> '' then queue else '' end,
            case kind when 'L' then 'I:' || pklist when 'S' then 'I' else '{"op":"INSERT",' || jtab end,
            case kind when 'L' then 'U:' || pklist when 'S' then 'U' else '{"op":"UPDATE",' || jtab end,
            case kind when 'L' then 'D:' || pklist when 'S' then 'D' else '{"op":"DELETE",' || jtab end,
            case when hot <> '' then nsp || '.' || tbl else '' end,
            case when tg_when = 'AFTER' or strpos(flags, 'S') > 0 then 'N' else 'R' end,
            case when strpos(flags, 'B') > 0 then 'B' else '' end,
            swhere,
            case when kind = 'J' then case when jfast then 'F' else 'P' end else '' end,
            case when kind = 'J' then jkeys else '' end,
            case when kind = 'J' then jk2 else '' end,
            coalesce(nullif(t1pat, ''), '^$'), t1ops,
            case when kind = 'S' then array_to_string(idn, chr(30)) else '' end], chr(31));
    perform pgq._tg_put(hslot, relid, hs);
    return hs;
end;
$$;

-- Return the hot entry of a trigger, revalidated or rebuilt as needed.
create or replace function pgq._tg_validate(kind text, relid oid, tgname text, args text[],
                                            tg_when text, nsp text, tbl text)
returns text language plpgsql stable as $$
declare
    hslot text := 'pgq_tgcache.h' || relid::text;
    hs text;
    h text[];
    tname text := case when strpos(tgname, chr(31)) = 0 then tgname else 'md5:' || md5(tgname) end;
begin
    hs := current_setting(hslot, true);
    if coalesce(hs, '') <> '' and split_part(hs, chr(31), 2) <> tname then
        hslot := 'pgq_tgcache.h' || relid::text || '_' || to_hex(hashtext(tgname));
        hs := current_setting(hslot, true);
    end if;
    h := string_to_array(hs, chr(31));
    if h[2] = tname and h[3] = kind and cardinality(h) = 26 then
        -- counts frozen by track_counts = off prove nothing
        if h[10] <> '' and current_setting('track_counts') = 'on' and h[1] = pgq._tg_key(h[10], h[11])
           and h[12] = coalesce(pg_catalog.pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '') then
            return hs;
        end if;
        -- the catalogs decide
        if md5(pgq._tg_fingerprint(relid) || ' ' || coalesce(args::text, '') || ' ' || tg_when
               || ' ' || nsp || '.' || tbl) = h[9] then
            h[10] := pgq._tg_mode();
            h[1] := case when h[10] = '' then '' else pgq._tg_key(h[10], h[11]) end;
            h[12] := coalesce(pg_catalog.pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '');
            hs := array_to_string(h, chr(31));
            perform pgq._tg_put(hslot, relid, hs);
            return hs;
        end if;
    end if;
    return pgq._tg_fill(kind, relid, tgname, args, tg_when, nsp, tbl);
end;
$$;

-- The full plan of a trigger, valid for this row.
create or replace function pgq._tg_plan(kind text, relid oid, tgname text, args text[],
                                        tg_when text, nsp text, tbl text)
returns text[] language plpgsql stable as $$
declare
    slot text := 'pgq_tgcache.f' || relid::text || '_' || to_hex(hashtext(tgname));
    h text[] := string_to_array(pgq._tg_validate(kind, relid, tgname, args, tg_when, nsp, tbl), chr(31));
    p text[];
begin
    -- RESET / DISCARD ALL leave an empty string behind
    p := nullif(current_setting(slot, true), '')::text[];
    if p is null or p[1] is distinct from h[9] or p[2] is distinct from tgname or p[3] <> kind then
        perform pgq._tg_fill(kind, relid, tgname, args, tg_when, nsp, tbl);
        p := current_setting(slot)::text[];
    end if;
    return p;
end;
$$;

-- ----------------------------------------------------------------------
-- Is column i unchanged between the old and new row?  Text first; the
-- typed comparison only where text equality and the type's equality can
-- disagree.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_same(cls text, vo text, vn text, colname text, oldr record, newr record)
returns boolean language plpgsql stable as $$
declare
    r boolean;
begin
    if vo is null or vn is null then
        return vo is null and vn is null;
    end if;
    if vo = vn then
        -- shortened float output can hide a difference
        if cls in ('f', 'r') and current_setting('extra_float_digits')::integer < 1 then
            execute format('select ($1).%I = ($2).%I', colname, colname) into r using oldr, newr;
            return coalesce(r, false);
        end if;
        return true;
    end if;
    if cls = 'x' then
        return false;
    elsif cls = 'n' then
        return vo::numeric = vn::numeric;
    elsif cls = 'f' then
        return vo::float8 = vn::float8;
    elsif cls = 'r' then
        return vo::float4 = vn::float4;
    elsif cls = 'i' then
        return vo::interval = vn::interval;
    elsif cls = 'j' then
        return vo::jsonb = vn::jsonb;
    end if;
    execute format('select ($1).%I = ($2).%I', colname, colname) into r using oldr, newr;
    return coalesce(r, false);
end;
$$;

-- ----------------------------------------------------------------------
-- Row encoders over exact values, honouring the skip mask.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_url_row(p text[], v text[])
returns text language plpgsql stable as $$
declare
    n integer := p[6]::integer;
    res text := '';
    i integer;
begin
    for i in 1 .. n loop
        continue when substr(p[13], i, 1) = '1';
        if res <> '' then
            res := res || '&';
        end if;
        res := res || p[17 + n + i];
        if v[i] is not null then
            res := res || '=' || pgq._tg_urlenc(v[i]);
        end if;
    end loop;
    return res;
end;
$$;

create or replace function pgq._tg_json_row(p text[], v text[], rec record, altrec record default null)
returns text language plpgsql stable as $$
declare
    n integer := p[6]::integer;
    res text := '';
    i integer;
    k text;
    j json;
begin
    -- altrec: the OLD row, whose stored generated values stand in for the
    -- NULLs PL/pgSQL puts in NEW during BEFORE UPDATE
    for i in 1 .. n loop
        continue when substr(p[13], i, 1) = '1';
        if res <> '' then
            res := res || ',';
        end if;
        res := res || p[17 + 2 * n + i] || ':';
        k := substr(p[10], i, 1);
        if v[i] is null then
            res := res || 'null';
        elsif k = 'b' then
            res := res || case when v[i] = 't' then 'true' else 'false' end;
        elsif k in ('i', 'l') then
            res := res || v[i];
        elsif k = 'd' then
            -- ISO 8601 with 'T' as to_json renders it, whatever DateStyle says
            if altrec is not null and substr(p[17], i, 1) = '1' then
                res := res || (row_to_json(altrec) -> p[17 + i])::text;
            else
                if j is null then
                    j := row_to_json(rec);
                end if;
                res := res || (j -> p[17 + i])::text;
            end if;
        else
            res := res || to_json(v[i])::text;
        end if;
    end loop;
    return '{' || res || '}';
end;
$$;

-- ----------------------------------------------------------------------
-- jsontriga fast path for rows row_to_json does not render as C does:
-- exact values, cached keys and kinds.  NULL when DateStyle is not ISO and
-- a date/time column needs re-reading (its text would be ambiguous).
-- ----------------------------------------------------------------------
create or replace function pgq._tg_json_fast(v text[], keys text, kinds text)
returns text language plpgsql stable as $$
declare
    k text[] := string_to_array(keys, chr(30));
    res text := '';
    i integer;
    c text;
begin
    if kinds ~ '[DTZ]' and current_setting('DateStyle') not like 'ISO%' then
        return null;
    end if;
    for i in 1 .. cardinality(k) loop
        c := substr(kinds, i, 1);
        res := res || case when i > 1 then ',' else '' end || k[i] || ':'
            || case when v[i] is null then 'null'
                    when c = 'b' then case when v[i] = 't' then 'true' else 'false' end
                    when c in ('i', 'l') then v[i]
                    when c = 'D' then to_json(v[i]::date)::text
                    when c = 'T' then to_json(v[i]::timestamp)::text
                    when c = 'Z' then to_json(v[i]::timestamptz)::text
                    else to_json(v[i])::text end;
    end loop;
    return '{' || res || '}';
end;
$$;

-- ----------------------------------------------------------------------
-- Evaluate one override expression against a row: (type oid, text, isnull).
-- ----------------------------------------------------------------------
create or replace function pgq._tg_eval(expr text, p text[], rec record, out typ oid, out val text)
language plpgsql stable as $$
declare
    n integer := p[6]::integer;
    q text;
    r record;
    cnt integer := 0;
begin
    q := 'select pg_catalog.pg_typeof(x)::pg_catalog.oid as t, pg_catalog.format(''%s'', x) as v,'
         || ' pg_catalog.num_nulls(x) as z from (select '
         || pgq._tg_rewrite(expr, p[18:17 + n], p[15] = 'on')
         || E'\n) s(x)';
    for r in execute q using rec loop
        cnt := cnt + 1;
        typ := r.t;
        val := case when r.z = 1 then null else r.v end;
    end loop;
    if cnt <> 1 then
        perform pgq._tg_error('Expect 1 row from override query, got ' || cnt);
    end if;
end;
$$;

-- ----------------------------------------------------------------------
-- Truncate: one event per statement, type R (JSON op TRUNCATE).
-- ----------------------------------------------------------------------
create or replace function pgq._tg_truncate(kind text, tg_when text, relid oid, nsp text, tbl text, args text[])
returns boolean language plpgsql stable as $$
declare
    a text[];
    pk text[];
    tname text := nsp || '.' || tbl;
    ev bigint;
begin
    if coalesce(cardinality(args), 0) < 1 then
        perform pgq._tg_error('pgq trigger must have destination queue as argument');
    end if;
    pk := pgq._tg_pkey_names(relid);
    a := pgq._tg_args(args, true, relid, '{}', true);
    if strpos(a[1], 'S') > 0 and tg_when = 'AFTER' then
        perform pgq._tg_error('SKIP does not work in AFTER trigger.');
    end if;
    if strpos(a[1], 'D') > 0 then
        perform pgq._tg_error(format('Table ''%s'' to queue ''%s'': change not allowed (TRUNCATE)',
                                     tname, args[array_lower(args, 1)]));
    end if;
    if kind = 'J' then
        ev := pgq.insert_event(args[array_lower(args, 1)],
            '{"op":"TRUNCATE","table":[' || to_json(nsp)::text || ',' || to_json(tbl)::text
                || '],"pkey":[' || coalesce((select string_agg(to_json(z)::text, ',') from unnest(pk) z), '')
                || ']}',
            '{}', tname, null, null, null);
    else
        ev := pgq.insert_event(args[array_lower(args, 1)], 'R', '', tname, null, null, null);
    end if;
    return strpos(a[1], 'S') > 0;
end;
$$;

-- ----------------------------------------------------------------------
-- One event, general path: every argument and option.  Returns whether a
-- BEFORE trigger must suppress the row (SKIP).
-- ----------------------------------------------------------------------
create or replace function pgq._tg_fire(kind text, tg_op text, tg_when text, tg_level text,
                                        relid oid, nsp text, tbl text, tgname text, args text[],
                                        newr record, oldr record)
returns boolean language plpgsql stable as $$
declare
    p text[];
    n integer;
    flags text;
    op text := left(tg_op, 1);
    queue text;
    tname text := nsp || '.' || tbl;
    vn text[];
    vo text[];
    vr text[];
    rowr record;
    ev_type text;
    ev_data text;
    e1 text;
    e2 text;
    e3 text;
    e4 text;
    skip boolean;
    i integer;
    ign integer := 0;
    interesting boolean;
    setl text := '';
    wh text := '';
    cols text := '';
    vals text := '';
    x text;
    a text;
    fld integer;
    exprs text[] := array[null, null, null, null, null, null, null]::text[];
    et oid;
    ev bigint;
    emit boolean := true;
    c text;
    genfix boolean := false;
begin
    if tg_level <> 'ROW' then
        if tg_op <> 'TRUNCATE' then
            perform pgq._tg_error('pgq Ins/Upd/Del trigger must be fired FOR EACH ROW');
        end if;
        return pgq._tg_truncate(kind, tg_when, relid, nsp, tbl, args);
    end if;
    if coalesce(cardinality(args), 0) < 1 then
        perform pgq._tg_error('pgq trigger must have destination queue as argument');
    end if;
    queue := args[array_lower(args, 1)];

    p := pgq._tg_plan(kind, relid, tgname, args, tg_when, nsp, tbl);
    n := p[6]::integer;
    flags := p[7];
    skip := strpos(flags, 'S') > 0;

    if op in ('U', 'D') and p[8] = '' then
        perform pgq._tg_error('Update/Delete on table without pkey');
    end if;
    if skip and tg_when = 'AFTER' then
        perform pgq._tg_error('SKIP does not work in AFTER trigger.');
    end if;
    if strpos(flags, 'D') > 0 then
        perform pgq._tg_error(format('Table ''%s'' to queue ''%s'': change not allowed (%s)',
                                     tname, queue, tg_op));
    end if;

    if op in ('I', 'U') then
        vn := pgq._tg_values(newr::text, n);
        if vn is null then
            perform pgq._tg_error('pgq trigger: row does not match table definition');
        end if;
    end if;
    if op in ('U', 'D') then
        vo := pgq._tg_values(oldr::text, n);
        if vo is null then
            perform pgq._tg_error('pgq trigger: row does not match table definition');
        end if;
    end if;
    if op = 'U' and tg_when = 'BEFORE' and strpos(p[17], '1') > 0 then
        for i in 1 .. n loop
            if substr(p[17], i, 1) = '1' then
                vn[i] := vo[i];
            end if;
        end loop;
        genfix := true;
    end if;
    if op = 'D' then
        vr := vo;
        rowr := oldr;
    else
        vr := vn;
        rowr := newr;
    end if;

    if op = 'U' and strpos(flags, 'B') > 0 then
        if kind = 'J' then
            e2 := pgq._tg_json_row(p, vo, oldr);
        else
            e2 := pgq._tg_url_row(p, vo);
        end if;
    end if;

    if kind in ('L', 'J') then
        if kind = 'L' then
            ev_type := op || ':' || p[8];
        else
            ev_type := '{"op":"' || tg_op || '","table":[' || to_json(nsp)::text || ','
                       || to_json(tbl)::text || '],"pkey":' || p[9] || '}';
        end if;
        if op = 'U' then
            -- without an ignore list only key columns matter; the scan stops
            -- at the first changed column that is sent
            interesting := null;
            for i in 1 .. n loop
                continue when substr(p[12], i, 1) = '0' and strpos(flags, 'I') = 0;
                c := substr(p[11], i, 1);
                continue when case when vo[i] is null or vn[i] is null then vo[i] is null and vn[i] is null
                                   when vo[i] = vn[i] and c not in ('f', 'r') then true
                                   when c = 'x' then false
                                   else pgq._tg_same(c, vo[i], vn[i], p[17 + i], oldr, newr) end;
                if substr(p[12], i, 1) = '1' then
                    perform pgq._tg_error('primary key update not allowed');
                end if;
                if substr(p[13], i, 1) = '1' then
                    ign := ign + 1;
                    continue;
                end if;
                interesting := true;
                exit;
            end loop;
            if interesting is null then
                interesting := ign = 0;
            end if;
            if not interesting then
                return skip;
            end if;
        end if;
        if kind = 'L' then
            ev_data := pgq._tg_url_row(p, vr);
        elsif genfix then
            ev_data := pgq._tg_json_row(p, vr, rowr, oldr);
        else
            ev_data := pgq._tg_json_row(p, vr, rowr);
        end if;
    else
        ev_type := op;
        if op = 'I' then
            for i in 1 .. n loop
                continue when substr(p[13], i, 1) = '1';
                if cols <> '' then
                    cols := cols || ',';
                    vals := vals || ',';
                end if;
                cols := cols || p[17 + 3 * n + i];
                vals := vals || coalesce(quote_literal(vn[i]), 'null');
            end loop;
            ev_data := '(' || cols || ') values (' || vals || ')';
        else
            if op = 'U' then
                for i in 1 .. n loop
                    c := substr(p[11], i, 1);
                    continue when case when vo[i] is null or vn[i] is null then vo[i] is null and vn[i] is null
                                       when vo[i] = vn[i] and c not in ('f', 'r') then true
                                       when c = 'x' then false
                                       else pgq._tg_same(c, vo[i], vn[i], p[17 + i], oldr, newr) end;
                    if substr(p[12], i, 1) = '1' then
                        perform pgq._tg_error('primary key update not allowed');
                    end if;
                    if substr(p[13], i, 1) = '1' then
                        ign := ign + 1;
                        continue;
                    end if;
                    if setl <> '' then
                        setl := setl || ',';
                    end if;
                    setl := setl || p[17 + 3 * n + i] || '=' || coalesce(quote_literal(vn[i]), 'NULL');
                end loop;
                if setl = '' then
                    if ign > 0 then
                        return skip;
                    end if;
                    -- a no-op update is still sent: first key column = itself
                    i := strpos(p[12], '1');
                    if i = 0 or vo[i] is null then
                        perform pgq._tg_error('logtriga: Unexpected NULL key value');
                    end if;
                    setl := p[17 + 3 * n + i] || '=' || quote_literal(vo[i]);
                end if;
            end if;
            for i in 1 .. n loop
                continue when substr(p[12], i, 1) = '0';
                if vo[i] is null then
                    perform pgq._tg_error('logtriga: Unexpected NULL key value');
                end if;
                if wh <> '' then
                    wh := wh || ' and ';
                end if;
                wh := wh || p[17 + 3 * n + i] || '=' || quote_literal(vo[i]);
            end loop;
            if op = 'U' then
                ev_data := setl || ' where ' || wh;
            else
                ev_data := wh;
            end if;
        end if;
    end if;

    e1 := tname;

    -- deprecated magic columns override fields, in column order
    if strpos(flags, 'M') > 0 then
        for i in 1 .. n loop
            x := substr(p[14], i, 1);
            continue when x = '-';
            if x = '?' then
                perform pgq._tg_error('Unknown magic column: ' || p[17 + i]);
            elsif x = 't' then
                ev_type := vr[i];
            elsif x = 'd' then
                ev_data := vr[i];
            elsif x = '1' then
                e1 := vr[i];
            elsif x = '2' then
                e2 := vr[i];
            elsif x = '3' then
                e3 := vr[i];
            else
                e4 := vr[i];
            end if;
        end loop;
    end if;

    -- override expressions, re-read from the trigger definition itself
    if strpos(flags, 'E') > 0 then
        for i in array_lower(args, 1) + 1 .. array_upper(args, 1) loop
            a := args[i];
            fld := case when a like 'ev\_type=%' then 1 when a like 'ev\_data=%' then 2
                        when a like 'ev\_extra1=%' then 3 when a like 'ev\_extra2=%' then 4
                        when a like 'ev\_extra3=%' then 5 when a like 'ev\_extra4=%' then 6
                        when a like 'when=%' then 7 end;
            if fld is not null and exprs[fld] is null then
                exprs[fld] := substr(a, strpos(a, '=') + 1);
            end if;
        end loop;
        for fld in 1 .. 7 loop
            continue when exprs[fld] is null;
            select * into et, x from pgq._tg_eval(exprs[fld], p, rowr);
            case fld
                when 1 then ev_type := x;
                when 2 then ev_data := x;
                when 3 then e1 := x;
                when 4 then e2 := x;
                when 5 then e3 := x;
                when 6 then e4 := x;
                else
                    if et <> 16 then
                        perform pgq._tg_error('when= query result must be boolean, got=' || et);
                    end if;
                    if x is null then
                        perform pgq._tg_error('when= should not be NULL');
                    end if;
                    if x = 'f' then
                        emit := false;
                    end if;
            end case;
        end loop;
    end if;

    if emit then
        ev := pgq.insert_event(queue, ev_type, ev_data, e1, e2, e3, e4);
    end if;
    return skip;
end;
$$;

-- ----------------------------------------------------------------------
-- First tier of the triggers: one call that checks the first tier entry
-- and queues the event straight from the row text (nr: new row, orow: old
-- row, so NULL for INSERT and DELETE respectively).  NULL when it did
-- nothing, else N or R: the trigger returns NULL or the row.
--
-- Few statements and few expression nodes: PL/pgSQL sets up every
-- expression once per transaction and function, and in short transactions
-- that setup is most of the cost.  The trigger functions are compiled once
-- per trigger, these helpers once per session, so a transaction writing to
-- several tables pays for their setup once, and only for the branches it
-- runs.  The stamp test is _tg_key's mode G (a T stamp or none never
-- equals it); other modes, a foreign slot owner, local role and rows with
-- anything special go to the triggers' second tier, which also refreshes
-- the stamp.
-- ----------------------------------------------------------------------
create or replace function pgq._tg_hot_l(relid oid, tgname text, nr text, orow text)
returns text language plpgsql stable as $$
declare
    v text;
    ev bigint;
begin
    v := current_setting('pgq_tgcache.t' || relid::text, true);
    -- (the '0' keeps an entry emptied by RESET from failing the cast)
    if split_part(v, E'\x1f', 1) is distinct from format(E'%s\x1e%s\x1e%s\x1e%s\x1eL\x1e%s',
            pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
            + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass),
            pg_stat_get_db_stat_reset_time(('0' || split_part(v, E'\x1f', 2))::oid), current_setting('track_counts'),
            current_setting('session_replication_role') <> 'local', tgname) then
        return null;
    end if;
    -- The pattern left nothing to encode but ':', '+' and blanks (runs of
    -- them, char(n) padding, eight at a time); every value gets its '='
    -- (the opening parenthesis gives the first one) and a bare '=' is NULL,
    -- which format() prints as nothing: a bare name.
    if orow is null then
        if ('I' || nr) ~ split_part(v, E'\x1f', 10) then
            ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 5),
                      format(split_part(v, E'\x1f', 11), variadic string_to_array(replace(replace(replace(replace(
                          replace(replace(replace(replace(nr, '"', ''), '+', '%2b'), ':', '%3a'),
                          '        ', '++++++++'), ' ', '+'), '(', '='), ',', ',='), ')', ''), ',', '=')),
                      split_part(v, E'\x1f', 8), null, null, null);
            return split_part(v, E'\x1f', 3);
        end if;
    elsif nr is null then
        if ('D' || orow) ~ split_part(v, E'\x1f', 10) then
            ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 7),
                      format(split_part(v, E'\x1f', 11), variadic string_to_array(replace(replace(replace(replace(
                          replace(replace(replace(replace(orow, '"', ''), '+', '%2b'), ':', '%3a'),
                          '        ', '++++++++'), ' ', '+'), '(', '='), ',', ',='), ')', ''), ',', '=')),
                      split_part(v, E'\x1f', 8), null, null, null);
            return split_part(v, E'\x1f', 3);
        end if;
    -- the key must not change: the old row starts with the new one's text
    -- up to the last key column (the pattern proved its commas separate)
    elsif ('U' || nr) ~ split_part(v, E'\x1f', 10)
          and starts_with(orow, format(split_part(v, E'\x1f', 9), variadic string_to_array(nr, ','))) then
        ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 6),
                  format(split_part(v, E'\x1f', 11), variadic string_to_array(replace(replace(replace(replace(
                      replace(replace(replace(replace(nr, '"', ''), '+', '%2b'), ':', '%3a'),
                      '        ', '++++++++'), ' ', '+'), '(', '='), ',', ',='), ')', ''), ',', '=')),
                  split_part(v, E'\x1f', 8), null, null, null);
        return split_part(v, E'\x1f', 3);
    end if;
    return null;
end;
$$;

-- jsontriga: the rows' row_to_json texts, for tables row_to_json renders
-- as C does.
create or replace function pgq._tg_hot_j(relid oid, tgname text, jn text, jo text)
returns text language plpgsql stable as $$
declare
    v text;
    ev bigint;
begin
    v := current_setting('pgq_tgcache.t' || relid::text, true);
    if split_part(v, E'\x1f', 1) is distinct from format(E'%s\x1e%s\x1e%s\x1e%s\x1eJ\x1e%s',
            pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
            + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass),
            pg_stat_get_db_stat_reset_time(('0' || split_part(v, E'\x1f', 2))::oid), current_setting('track_counts'),
            current_setting('session_replication_role') <> 'local', tgname) then
        return null;
    end if;
    if jo is null then
        if split_part(v, E'\x1f', 5) <> '' then
            ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 5), jn,
                                   split_part(v, E'\x1f', 8), null, null, null);
            return split_part(v, E'\x1f', 3);
        end if;
    elsif jn is null then
        if split_part(v, E'\x1f', 7) <> '' then
            ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 7), jo,
                                   split_part(v, E'\x1f', 8), null, null, null);
            return split_part(v, E'\x1f', 3);
        end if;
    -- the old row starts with the new one's text up to the last key column:
    -- cutting pieces at commas off the end only keeps more of the row when
    -- a value holds a comma, which makes the test stricter
    elsif split_part(v, E'\x1f', 6) <> ''
          and starts_with(jo || ',', array_to_string(trim_array(string_to_array(jn, ','),
                                                                split_part(v, E'\x1f', 9)::integer) || ''::text, ',')) then
        ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 6), jn,
                               split_part(v, E'\x1f', 8), null, null, null);
        return split_part(v, E'\x1f', 3);
    end if;
    return null;
end;
$$;

-- sqltriga.  The values are quoted by format()'s %L (quote_literal); on
-- INSERT a NULL travels as chr(2) to come out as C's lowercase null (the
-- pattern keeps chr(2) and parentheses out of the values), and the closing
-- parenthesis becomes a comma that keeps the one field of a one-column NULL
-- row.  An UPDATE lists the columns whose text changed (all of them compare
-- as text, or the update is not on the first tier).
create or replace function pgq._tg_hot_s(relid oid, tgname text, nr text, orow text)
returns text language plpgsql stable as $$
declare
    v text;
    ev bigint;
    vn text[];
    vo text[];
    cols text[];
    setl text := '';
    i integer;
begin
    v := current_setting('pgq_tgcache.t' || relid::text, true);
    if split_part(v, E'\x1f', 1) is distinct from format(E'%s\x1e%s\x1e%s\x1e%s\x1eS\x1e%s',
            pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
            + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass),
            pg_stat_get_db_stat_reset_time(('0' || split_part(v, E'\x1f', 2))::oid), current_setting('track_counts'),
            current_setting('session_replication_role') <> 'local', tgname) then
        return null;
    end if;
    if orow is null then
        if ('I' || nr) ~ split_part(v, E'\x1f', 10) then
            ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 5),
                      replace(format(split_part(v, E'\x1f', 11), variadic array_replace(string_to_array(
                          replace(replace(replace(nr, '"', ''), '(', ''), ')', ','), ',', ''), null, E'\x02')),
                          E'\'\x02\'', 'null'),
                      split_part(v, E'\x1f', 8), null, null, null);
            return split_part(v, E'\x1f', 3);
        end if;
    elsif nr is null then
        if ('D' || orow) ~ split_part(v, E'\x1f', 10) then
            ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 7),
                      format(split_part(v, E'\x1f', 12), variadic string_to_array(
                          replace(replace(replace(orow, '"', ''), '(', ''), ')', ''), ',')),
                      split_part(v, E'\x1f', 8), null, null, null);
            return split_part(v, E'\x1f', 3);
        end if;
    elsif ('U' || nr || orow) ~ split_part(v, E'\x1f', 10) then
        vn := string_to_array(replace(replace(replace(nr, '"', ''), '(', ''), ')', ''), ',', '');
        vo := string_to_array(replace(replace(replace(orow, '"', ''), '(', ''), ')', ''), ',', '');
        cols := string_to_array(split_part(v, E'\x1f', 13), E'\x1e');
        for i in 1 .. cardinality(cols) loop
            continue when vn[i] is not distinct from vo[i];
            -- a key change is an error the general path reports
            if strpos(split_part(v, E'\x1f', 14), ',' || i::text || ',') > 0 then
                return null;
            end if;
            setl := setl || ',' || cols[i] || '=' || coalesce(quote_literal(vn[i]), 'NULL');
        end loop;
        -- a no-op update is still sent: first key column = itself
        if setl = '' then
            i := split_part(split_part(v, E'\x1f', 14), ',', 2)::integer;
            setl := ',' || cols[i] || '=' || quote_literal(vo[i]);
        end if;
        ev := pgq.insert_event(split_part(v, E'\x1f', 4), split_part(v, E'\x1f', 6),
                  substr(setl, 2) || ' where ' || format(split_part(v, E'\x1f', 12), variadic vo),
                  split_part(v, E'\x1f', 8), null, null, null);
        return split_part(v, E'\x1f', 3);
    end if;
    return null;
end;
$$;

-- ----------------------------------------------------------------------
-- Function: pgq.logutriga()
--
--      Row trigger that queues the row URL-encoded:
--      ev_type 'I:pk1,pk2' / 'U:..' / 'D:..' (truncate: 'R'),
--      ev_data 'col=val&col2=val2' (NULL column: bare name),
--      ev_extra1 'schema.table', ev_extra2 old row with 'backup'.
--
-- Arguments: queue name, then any of SKIP, ignore=cols, pkey=cols, backup,
--      deny, ev_type=/ev_data=/ev_extra1..4=<sql expression>, when=<expr>.
-- ----------------------------------------------------------------------
create or replace function pgq.logutriga()
returns trigger language plpgsql stable as $$
declare
    h text[];
    ok boolean;
    f text[];
    fo text[];
    fr text[];
    r text;
    ro text;
    x text;
    pos text;
    ev bigint;
begin
    -- First tier: one shared helper for the common rows.
    x := pgq._tg_hot_l(TG_RELID, TG_NAME, NEW::text, OLD::text);
    if x = 'N' then
        return null;
    elsif x = 'R' then
        if TG_OP = 'DELETE' then
            return OLD;
        end if;
        return NEW;
    end if;
    -- Second tier: the rest of the hot entry's cases, and its upkeep.
    h := string_to_array(current_setting('pgq_tgcache.h' || TG_RELID::text, true), E'\x1f');
    if h[10] = 'G' and h[2] = TG_NAME and h[3] = 'L'
       and h[1]::int8 = pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
                        + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)
       and h[12] = coalesce(pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '')
       and current_setting('track_counts') = 'on'
       and current_setting('session_replication_role') <> 'local' then
        null;
    else
        -- in local role the C triggers do nothing at all, not even check
        if current_setting('session_replication_role') = 'local' then
            if TG_LEVEL = 'STATEMENT' or TG_WHEN = 'AFTER' then
                return null;
            elsif TG_OP = 'DELETE' then
                return OLD;
            end if;
            return NEW;
        end if;
        if h[2] is distinct from TG_NAME then
            h := string_to_array(current_setting('pgq_tgcache.h' || TG_RELID::text || '_'
                                                 || to_hex(hashtext(TG_NAME)), true), E'\x1f');
        end if;
        if h[10] = 'G' then
            ok := h[1]::int8 = pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
                               + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)
                  and h[12] = coalesce(pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '');
        elsif h[10] = 'T' then
            ok := h[1] = txid_current()::text || '.'
                         || pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)::text;
        end if;
        if ok is not true or h[3] <> 'L' or current_setting('track_counts') <> 'on' then
            if TG_LEVEL = 'ROW' and TG_NARGS > 0 then
                h := string_to_array(pgq._tg_validate('L', TG_RELID, TG_NAME, TG_ARGV, TG_WHEN,
                                                      TG_TABLE_SCHEMA, TG_TABLE_NAME), E'\x1f');
            else
                h := null;
            end if;
        end if;
    end if;
    if strpos(h[4], TG_OP) > 0 then
        if TG_OP = 'INSERT' then
            r := NEW::text;
        elsif TG_OP = 'DELETE' then
            r := OLD::text;
        else
            r := NEW::text;
            ro := OLD::text;
            if ro <> r then
                -- update: the key must not change (field texts compared)
                if strpos(r, '""') = 0 then
                    fr := string_to_array(replace(replace(btrim(r, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
                end if;
                if cardinality(fr) is distinct from h[5]::integer then
                    fr := pgq._tg_values(r, h[5]::integer);
                end if;
                if strpos(ro, '""') = 0 then
                    fo := string_to_array(replace(replace(btrim(ro, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
                end if;
                if cardinality(fo) is distinct from h[5]::integer then
                    fo := pgq._tg_values(ro, h[5]::integer);
                end if;
                foreach pos in array string_to_array(h[8], ',') loop
                    if fo[pos::integer] is distinct from fr[pos::integer] then
                        perform pgq._tg_error('primary key update not allowed');
                    end if;
                end loop;
            end if;
        end if;
        -- Common case (_tg_urlfields inlined): without a doubled quote every
        -- '"' delimits a value and can go, and the field count proves that
        -- no comma came from the data.
        if strpos(r, '""') = 0 then
            x := replace(replace(btrim(r, '()'), '"', ''), E'\\\\', E'\\');
            f := string_to_array('=' || replace(
                     case when x ~ '[^-A-Za-z0-9_., ]' then pgq._tg_urlenc(x, true)
                          -- runs of blanks (char(n) padding) in bulk
                          else replace(replace(x, '        ', '++++++++'), ' ', '+') end,
                     ',', ',='), ',', '=');
        end if;
        -- Otherwise parse, and URL-encode all values in one pass: chr(1)
        -- separates them, chr(2) stands for NULL (a row holding chr(2)
        -- takes the general path; a stray chr(1) breaks the count).
        if cardinality(f) is distinct from h[5]::integer and strpos(r, E'\x02') = 0 then
            if fr is null then
                fr := pgq._tg_values(r, h[5]::integer);
            end if;
            f := string_to_array('=' || replace(pgq._tg_urlenc(array_to_string(fr, E'\x01', E'\x02')),
                                                '%01', '%01='), '%01', '=%02');
        end if;
        if cardinality(f) = h[5]::integer then
            if TG_OP = 'INSERT' then
                ev := pgq.insert_event(h[13], h[14], format(h[6], variadic f), h[17], null, null, null);
                if h[18] = 'N' then
                    return null;
                end if;
                return NEW;
            elsif TG_OP = 'DELETE' then
                ev := pgq.insert_event(h[13], h[16], format(h[6], variadic f), h[17], null, null, null);
                if h[18] = 'N' then
                    return null;
                end if;
                return OLD;
            end if;
            if h[19] = 'B' then
                fo := null;
                if strpos(ro, E'\x02') = 0 then
                    fo := string_to_array('=' || replace(pgq._tg_urlenc(array_to_string(
                              pgq._tg_values(ro, h[5]::integer), E'\x01', E'\x02')),
                              '%01', '%01='), '%01', '=%02');
                end if;
            end if;
            if cardinality(fo) = h[5]::integer or h[19] = '' then
                ev := pgq.insert_event(h[13], h[15], format(h[6], variadic f), h[17],
                                       case when h[19] = 'B' then format(h[6], variadic fo) end,
                                       null, null);
                if h[18] = 'N' then
                    return null;
                end if;
                return NEW;
            end if;
        end if;
    end if;
    -- A test of its own: after an error inside an expression PL/pgSQL runs
    -- it as a query for the rest of the transaction, planned with the TG_
    -- values as constants, and "f() or true" is planned as true.
    if pgq._tg_fire('L', TG_OP, TG_WHEN, TG_LEVEL, TG_RELID, TG_TABLE_SCHEMA, TG_TABLE_NAME,
                    TG_NAME, TG_ARGV, NEW, OLD) then
        return null;
    elsif TG_WHEN = 'AFTER' or TG_LEVEL = 'STATEMENT' then
        return null;
    elsif TG_OP = 'DELETE' then
        return OLD;
    end if;
    return NEW;
end;
$$;

-- ----------------------------------------------------------------------
-- Function: pgq.jsontriga()
--
--      Row trigger that queues the row as JSON:
--      ev_type '{"op":"INSERT","table":["schema","table"],"pkey":["id"]}',
--      ev_data '{"col":value,...}' (bool, int2/4/8 and NULL typed; date
--      and timestamps ISO 8601; everything else a string of the text
--      output), ev_extra1 'schema.table', ev_extra2 old row with 'backup'.
--      Truncate: op TRUNCATE, data '{}'.  Arguments as for logutriga.
-- ----------------------------------------------------------------------
create or replace function pgq.jsontriga()
returns trigger language plpgsql stable as $$
declare
    x text;
    h text[];
    ok boolean;
    vo text[];
    vn text[];
    r text;
    ro text;
    pos text;
    ev bigint;
begin
    -- First tier: one shared helper for the common rows.
    x := pgq._tg_hot_j(TG_RELID, TG_NAME, row_to_json(NEW)::text, row_to_json(OLD)::text);
    if x = 'N' then
        return null;
    elsif x = 'R' then
        if TG_OP = 'DELETE' then
            return OLD;
        end if;
        return NEW;
    end if;
    -- Second tier: the rest of the hot entry's cases, and its upkeep.
    h := string_to_array(current_setting('pgq_tgcache.h' || TG_RELID::text, true), E'\x1f');
    if h[10] = 'G' and h[2] = TG_NAME and h[3] = 'J'
       and h[1]::int8 = pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
                        + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)
       and h[12] = coalesce(pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '')
       and current_setting('track_counts') = 'on'
       and current_setting('session_replication_role') <> 'local' then
        null;
    else
        -- in local role the C triggers do nothing at all, not even check
        if current_setting('session_replication_role') = 'local' then
            if TG_LEVEL = 'STATEMENT' or TG_WHEN = 'AFTER' then
                return null;
            elsif TG_OP = 'DELETE' then
                return OLD;
            end if;
            return NEW;
        end if;
        if h[2] is distinct from TG_NAME then
            h := string_to_array(current_setting('pgq_tgcache.h' || TG_RELID::text || '_'
                                                 || to_hex(hashtext(TG_NAME)), true), E'\x1f');
        end if;
        if h[10] = 'G' then
            ok := h[1]::int8 = pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
                               + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)
                  and h[12] = coalesce(pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '');
        elsif h[10] = 'T' then
            ok := h[1] = txid_current()::text || '.'
                         || pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)::text;
        end if;
        if ok is not true or h[3] <> 'J' or current_setting('track_counts') <> 'on' then
            if TG_LEVEL = 'ROW' and TG_NARGS > 0 then
                h := string_to_array(pgq._tg_validate('J', TG_RELID, TG_NAME, TG_ARGV, TG_WHEN,
                                                      TG_TABLE_SCHEMA, TG_TABLE_NAME), E'\x1f');
            else
                h := null;
            end if;
        end if;
    end if;
    if strpos(h[4], TG_OP) > 0 then
        if TG_OP = 'INSERT' then
            r := NEW::text;
        elsif TG_OP = 'DELETE' then
            r := OLD::text;
        else
            r := NEW::text;
            ro := OLD::text;
            if ro <> r then
                -- update: the key must not change (field texts compared)
                if strpos(r, '""') = 0 then
                    vn := string_to_array(replace(replace(btrim(r, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
                end if;
                if cardinality(vn) is distinct from h[5]::integer then
                    vn := pgq._tg_values(r, h[5]::integer);
                end if;
                if strpos(ro, '""') = 0 then
                    vo := string_to_array(replace(replace(btrim(ro, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
                end if;
                if cardinality(vo) is distinct from h[5]::integer then
                    vo := pgq._tg_values(ro, h[5]::integer);
                end if;
                foreach pos in array string_to_array(h[8], ',') loop
                    if vo[pos::integer] is distinct from vn[pos::integer] then
                        perform pgq._tg_error('primary key update not allowed');
                    end if;
                end loop;
            end if;
        end if;
        if h[21] = 'F' then
            -- every column renders in row_to_json exactly as the C code does
            if TG_OP = 'DELETE' then
                r := row_to_json(OLD)::text;
            else
                r := row_to_json(NEW)::text;
                if TG_OP = 'UPDATE' and h[19] = 'B' then
                    ro := row_to_json(OLD)::text;
                end if;
            end if;
        else
            if vn is null then
                if strpos(r, '""') = 0 then
                    vn := string_to_array(replace(replace(btrim(r, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
                end if;
                if cardinality(vn) is distinct from h[5]::integer then
                    vn := pgq._tg_values(r, h[5]::integer);
                end if;
            end if;
            r := pgq._tg_json_fast(vn, h[22], h[23]);
            if TG_OP = 'UPDATE' and h[19] = 'B' then
                if vo is null then
                    vo := pgq._tg_values(ro, h[5]::integer);
                end if;
                ro := pgq._tg_json_fast(vo, h[22], h[23]);
            end if;
        end if;
        if r is not null and (h[19] = '' or ro is not null or TG_OP <> 'UPDATE') then
            if TG_OP = 'INSERT' then
                ev := pgq.insert_event(h[13], h[14], r, h[17], null, null, null);
                if h[18] = 'N' then
                    return null;
                end if;
                return NEW;
            elsif TG_OP = 'DELETE' then
                ev := pgq.insert_event(h[13], h[16], r, h[17], null, null, null);
                if h[18] = 'N' then
                    return null;
                end if;
                return OLD;
            end if;
            ev := pgq.insert_event(h[13], h[15], r, h[17], case when h[19] = 'B' then ro end, null, null);
            if h[18] = 'N' then
                return null;
            end if;
            return NEW;
        end if;
    end if;
    -- A test of its own: after an error inside an expression PL/pgSQL runs
    -- it as a query for the rest of the transaction, planned with the TG_
    -- values as constants, and "f() or true" is planned as true.
    if pgq._tg_fire('J', TG_OP, TG_WHEN, TG_LEVEL, TG_RELID, TG_TABLE_SCHEMA, TG_TABLE_NAME,
                    TG_NAME, TG_ARGV, NEW, OLD) then
        return null;
    elsif TG_WHEN = 'AFTER' or TG_LEVEL = 'STATEMENT' then
        return null;
    elsif TG_OP = 'DELETE' then
        return OLD;
    end if;
    return NEW;
end;
$$;

-- ----------------------------------------------------------------------
-- Function: pgq.sqltriga()
--
--      Row trigger that queues partial SQL:
--      I: (col1,col2) values ('v1',null)
--      U: col2='v2' where pk='1'   (only changed columns; a no-op update
--         sends pk='1' where pk='1'; a change of ignored columns only
--         sends nothing)
--      D: pk='1' and pk2='x'
--      ev_type I/U/D (truncate R), ev_extra1 'schema.table', ev_extra2 the
--      old row URL-encoded with 'backup'.  Arguments as for logutriga.
-- ----------------------------------------------------------------------
create or replace function pgq.sqltriga()
returns trigger language plpgsql stable as $$
declare
    x text;
    h text[];
    ok boolean;
    f text[];
    vo text[];
    vn text[];
    r text;
    ro text;
    setl text := '';
    pos text;
    i integer;
    p text[];
    ev bigint;
begin
    -- First tier: one shared helper for the common rows.
    x := pgq._tg_hot_s(TG_RELID, TG_NAME, NEW::text, OLD::text);
    if x = 'N' then
        return null;
    elsif x = 'R' then
        if TG_OP = 'DELETE' then
            return OLD;
        end if;
        return NEW;
    end if;
    -- Second tier: the rest of the hot entry's cases, and its upkeep.
    h := string_to_array(current_setting('pgq_tgcache.h' || TG_RELID::text, true), E'\x1f');
    if h[10] = 'G' and h[2] = TG_NAME and h[3] = 'S'
       and h[1]::int8 = pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
                        + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)
       and h[12] = coalesce(pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '')
       and current_setting('track_counts') = 'on'
       and current_setting('session_replication_role') <> 'local' then
        null;
    else
        -- in local role the C triggers do nothing at all, not even check
        if current_setting('session_replication_role') = 'local' then
            if TG_LEVEL = 'STATEMENT' or TG_WHEN = 'AFTER' then
                return null;
            elsif TG_OP = 'DELETE' then
                return OLD;
            end if;
            return NEW;
        end if;
        if h[2] is distinct from TG_NAME then
            h := string_to_array(current_setting('pgq_tgcache.h' || TG_RELID::text || '_'
                                                 || to_hex(hashtext(TG_NAME)), true), E'\x1f');
        end if;
        if h[10] = 'G' then
            ok := h[1]::int8 = pg_stat_get_numscans('pg_catalog.pg_class_oid_index'::regclass)
                               + pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)
                  and h[12] = coalesce(pg_stat_get_db_stat_reset_time(h[11]::oid)::text, '');
        elsif h[10] = 'T' then
            ok := h[1] = txid_current()::text || '.'
                         || pg_stat_get_xact_numscans('pg_catalog.pg_class_oid_index'::regclass)::text;
        end if;
        if ok is not true or h[3] <> 'S' or current_setting('track_counts') <> 'on' then
            if TG_LEVEL = 'ROW' and TG_NARGS > 0 then
                h := string_to_array(pgq._tg_validate('S', TG_RELID, TG_NAME, TG_ARGV, TG_WHEN,
                                                      TG_TABLE_SCHEMA, TG_TABLE_NAME), E'\x1f');
            else
                h := null;
            end if;
        end if;
    end if;
    -- values are quoted by format()'s %L, which is quote_literal (E'' for
    -- backslashes included); NULL is carried as chr(2) to come out as the
    -- lowercase null of the C code (a row holding chr(2) goes the general way)
    if strpos(h[4], TG_OP) > 0 and h[19] = '' then
        if TG_OP = 'DELETE' then
            r := OLD::text;
        else
            r := NEW::text;
        end if;
        if strpos(r, E'\x02') = 0 then
            if strpos(r, '""') = 0 then
                vn := string_to_array(replace(replace(btrim(r, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
            end if;
            if cardinality(vn) is distinct from h[5]::integer then
                vn := pgq._tg_values(r, h[5]::integer);
            end if;
            if TG_OP = 'INSERT' and vn is not null then
                ev := pgq.insert_event(h[13], h[14],
                                       replace(format(h[6], variadic array_replace(vn, null, E'\x02')),
                                               E'\'\x02\'', 'null'),
                                       h[17], null, null, null);
                if h[18] = 'N' then
                    return null;
                end if;
                return NEW;
            end if;
        end if;
        if TG_OP = 'DELETE' then
            vo := vn;
        elsif TG_OP = 'UPDATE' then
            ro := OLD::text;
            if strpos(ro, '""') = 0 then
                vo := string_to_array(replace(replace(btrim(ro, '()'), '"', ''), E'\\\\', E'\\'), ',', '');
            end if;
            if cardinality(vo) is distinct from h[5]::integer then
                vo := pgq._tg_values(ro, h[5]::integer);
            end if;
            if cardinality(vn) is distinct from h[5]::integer then
                vn := pgq._tg_values(r, h[5]::integer);
            end if;
        end if;
        -- NULL key values are an error the general path reports
        foreach pos in array string_to_array(h[8], ',') loop
            if vo[pos::integer] is null then
                vo := null;
            end if;
        end loop;
        if TG_OP = 'DELETE' and vo is not null then
            ev := pgq.insert_event(h[13], h[16], format(h[20], variadic vo), h[17], null, null, null);
            if h[18] = 'N' then
                return null;
            end if;
            return OLD;
        elsif TG_OP = 'UPDATE' and vo is not null and vn is not null then
            -- quoted identifiers from the full plan
            p := current_setting('pgq_tgcache.f' || TG_RELID::text || '_' || to_hex(hashtext(TG_NAME)))::text[];
            if ro <> r then
                for i in 1 .. cardinality(vn) loop
                    if vo[i] is distinct from vn[i] then
                        if strpos(',' || h[8] || ',', ',' || i || ',') > 0 then
                            perform pgq._tg_error('primary key update not allowed');
                        end if;
                        if setl <> '' then
                            setl := setl || ',';
                        end if;
                        setl := setl || p[17 + 3 * cardinality(vn) + i] || '='
                                || coalesce(quote_literal(vn[i]), 'NULL');
                    end if;
                end loop;
            end if;
            -- a no-op update is still sent: first key column = itself
            if setl = '' then
                i := split_part(h[8], ',', 1)::integer;
                setl := p[17 + 3 * cardinality(vn) + i] || '=' || quote_literal(vo[i]);
            end if;
            ev := pgq.insert_event(h[13], h[15], setl || ' where ' || format(h[20], variadic vo),
                                   h[17], null, null, null);
            if h[18] = 'N' then
                return null;
            end if;
            return NEW;
        end if;
    end if;
    -- A test of its own: after an error inside an expression PL/pgSQL runs
    -- it as a query for the rest of the transaction, planned with the TG_
    -- values as constants, and "f() or true" is planned as true.
    if pgq._tg_fire('S', TG_OP, TG_WHEN, TG_LEVEL, TG_RELID, TG_TABLE_SCHEMA, TG_TABLE_NAME,
                    TG_NAME, TG_ARGV, NEW, OLD) then
        return null;
    elsif TG_WHEN = 'AFTER' or TG_LEVEL = 'STATEMENT' then
        return null;
    elsif TG_OP = 'DELETE' then
        return OLD;
    end if;
    return NEW;
end;
$$;

-- ----------------------------------------------------------------------
-- Privileges as in pgq 3.5: creating a trigger with these functions is a
-- producer right.  The helpers run on behalf of whoever writes to a table
-- with such a trigger, so everybody may call them; they grant nothing by
-- themselves (the event still goes through pgq.insert_event).
-- ----------------------------------------------------------------------
revoke all on function pgq.logutriga(), pgq.sqltriga(), pgq.jsontriga() from public;
grant execute on function pgq.logutriga(), pgq.sqltriga(), pgq.jsontriga() to pgq_writer;
grant execute on function
    pgq._tg_error(text),
    pgq._tg_urlenc(text, boolean),
    pgq._tg_values(text, integer),
    pgq._tg_strlist_contains(text, text),
    pgq._tg_rewrite(text, text[], boolean),
    pgq._tg_basetype(oid),
    pgq._tg_fingerprint(oid),
    pgq._tg_pkey_names(oid),
    pgq._tg_args(text[], boolean, oid, text[], boolean),
    pgq._tg_mode(),
    pgq._tg_key(text, text),
    pgq._tg_put(text, oid, text),
    pgq._tg_fill(text, oid, text, text[], text, text, text),
    pgq._tg_validate(text, oid, text, text[], text, text, text),
    pgq._tg_plan(text, oid, text, text[], text, text, text),
    pgq._tg_same(text, text, text, text, record, record),
    pgq._tg_url_row(text[], text[]),
    pgq._tg_json_row(text[], text[], record, record),
    pgq._tg_json_fast(text[], text, text),
    pgq._tg_eval(text, text[], record),
    pgq._tg_truncate(text, text, oid, text, text, text[]),
    pgq._tg_fire(text, text, text, text, oid, text, text, text, text[], record, record),
    pgq._tg_hot_l(oid, text, text, text),
    pgq._tg_hot_j(oid, text, text, text),
    pgq._tg_hot_s(oid, text, text, text)
  to public;
