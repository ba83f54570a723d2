"""The python3-pgq consumer that `skydeck bench pgq` measures.

Usage: python3 pgq_consumer.py CONFIG.ini

A plain pgq.Consumer subclass with the defaults (pgq_lazy_fetch = 300: events
come through a cursor, 300 at a time). It touches ev.type and ev.data of
every event, stops once `stop_after` events have been processed, and prints
one JSON line: {"events": N, "batches": B, "seconds": S}, where S runs from
the start of the first batch to the commit of the last.
"""

import json
import sys
import time

import pgq


class BenchConsumer(pgq.Consumer):
    def __init__(self, args):
        super().__init__("bench_pgq_consumer", "db", args)
        self.stop_after = self.cf.getint("stop_after")
        self.events = 0
        self.batches = 0
        self.touched = 0
        self.t0 = None
        self.t1 = None

    def startup(self):
        super().startup()
        # Connect before the clock starts, as the other consumers do.
        self.get_database(self.db_name)

    def process_batch(self, db, batch_id, ev_list):
        n = 0
        touched = 0
        for ev in ev_list:
            touched += len(ev.type) + len(ev.data)
            n += 1
        self.events += n
        self.touched += touched
        self.batches += 1

    def work(self):
        if self.t0 is None:
            self.t0 = time.perf_counter()
        res = super().work()
        if self.events >= self.stop_after:
            self.t1 = time.perf_counter()
            self.looping = 0
        return res

    def sleep_on_exception(self):
        # A benchmark fails instead of retrying; the error is logged already.
        sys.exit(3)


def main():
    consumer = BenchConsumer(sys.argv[1:])
    consumer.start()
    if consumer.t1 is None:
        sys.stderr.write("stopped after %d events, before reaching %d\n"
                         % (consumer.events, consumer.stop_after))
        sys.exit(4)
    print(json.dumps({
        "events": consumer.events,
        "batches": consumer.batches,
        "seconds": consumer.t1 - consumer.t0,
        "touched": consumer.touched,
    }))


if __name__ == "__main__":
    main()
