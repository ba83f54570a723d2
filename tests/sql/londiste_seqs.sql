-- londiste sequences: on the root (registration, publishing values ahead
-- of the real ones, removal events) and on a branch (the published values
-- applied, local registration), with every refusal.
\set VERBOSITY terse
set client_min_messages = 'warning';

-- Where the runner set up the original pgq, bring its londiste too.
do $$ begin
    if exists (select 1 from pg_extension where extname = 'pgq')
       and not exists (select 1 from pg_extension where extname = 'londiste') then
        create extension londiste cascade;
    end if;
end $$;

create function qevents(q text) returns table (ev_type text, ev_data text, ev_extra1 text, ev_extra2 text)
language plpgsql as $$ begin
    return query execute 'select ev_type, ev_data, ev_extra1, ev_extra2 from '
        || pgq.current_event_table(q) || ' order by ev_id';
end $$;

create sequence s1;
create sequence s2 start 500;
create sequence "Odd seq";
select * from pgq_node.register_location('rq', 'root1', 'dbname=root1', false);
select * from pgq_node.create_node('rq', 'root', 'root1', 'rw', null, null, null);
select * from pgq_node.register_location('bq', 'root1', 'dbname=root1', false);
select * from pgq_node.register_location('bq', 'br1', 'dbname=br1', false);
select * from pgq_node.create_node('bq', 'branch', 'br1', 'bw', 'root1', 1, null);

-- root
select * from londiste.local_add_seq('rq', 'nosuch');
select * from londiste.local_add_seq('rq', 's1');
select * from londiste.local_add_seq('rq', 'public.s1');
select * from londiste.local_add_seq('rq', 'Odd seq');
select * from londiste.get_seq_list('rq');
select ev_type, ev_data, ev_extra1 from qevents('rq');
-- nothing to publish until the real value comes near
select * from londiste.root_check_seqs('rq');
select nextval('s1') from generate_series(1, 3) offset 2;
select setval('s1', 25000);
select * from londiste.root_check_seqs('rq');
select * from londiste.root_check_seqs('rq', 5);
select * from londiste.root_check_seqs('rq', 100000);
select * from londiste.root_check_seqs('rq', null);
select * from londiste.get_seq_list('rq');
select ev_type, ev_data, ev_extra1 from qevents('rq');
select * from londiste.root_check_seqs('bq');
select * from londiste.root_check_seqs('nq');
select * from londiste.local_show_missing('rq');
-- a registered but non-local sequence on the root is taken over
select * from londiste.local_remove_seq('rq', 's1');
insert into londiste.seq_info (queue_name, seq_name, local, last_value) values ('rq', 'public.s2', false, 7);
select * from londiste.local_add_seq('rq', 's2');
select * from londiste.get_seq_list('rq');
select * from londiste.local_remove_seq('rq', 'public.s2');
select * from londiste.local_remove_seq('rq', 'public.s2');
select * from londiste.global_remove_seq('rq', 'Odd seq');
select * from londiste.get_seq_list('rq');
select ev_type, ev_data, ev_extra1 from qevents('rq') where ev_type = 'londiste.remove-seq';
select * from londiste.global_update_seq('rq', 's1', 5);
select * from londiste.global_update_seq('nq', 's1', 5);

-- branch: values come from the root's events
select * from londiste.global_update_seq('bq', 's2', 1000);
select * from londiste.global_update_seq('bq', 'public.s1', 50);
select * from londiste.get_seq_list('bq');
select * from londiste.local_show_missing('bq');
select * from londiste.local_add_seq('bq', 'nosuch');
select * from londiste.local_add_seq('bq', 'Odd seq');
select * from londiste.local_add_seq('bq', 's2');
select last_value from s2;
select * from londiste.local_add_seq('bq', 's2');
select * from londiste.local_add_seq('bq', 's1');
select last_value from s1;
-- later values move local sequences forward, never back
select * from londiste.global_update_seq('bq', 's2', 2000);
select last_value from s2;
select * from londiste.global_update_seq('bq', 's2', 10);
select last_value from s2;
select * from londiste.get_seq_list('bq');
select * from londiste.local_show_missing('bq');
select * from londiste.local_remove_seq('bq', 's2');
select * from londiste.local_remove_seq('bq', 's2');
select * from londiste.local_remove_seq('bq', 'nosuch');
select * from londiste.global_remove_seq('bq', 's2');
select * from londiste.global_remove_seq('bq', 's2');
select * from londiste.get_seq_list('bq');
select * from londiste.local_add_seq(null, 's1');
select * from londiste.local_remove_seq(null, 's1');
