"""A writer process for the durability tests: commits batches through assistant.storage, acknowledging each.

    python tests/storage/writer.py URL --batches N [--batch-size K] [--delay S] [--kind probe|feedback]

Each batch is one transaction of K rows keyed `b{batch}-{i}` (like a ticket with its messages); after the
commit returns it prints `ACK b{batch}` and flushes. A restarted writer sends every batch again: the keys make
the retries no-ops (insert_idempotent), so the store must end with every batch exactly once.

`--kind feedback` writes through the product's own `FeedbackStore.record` (one copywriter judgement per batch,
generation id `b{batch}`) instead; a restarted writer continues after the last judgement the store holds,
as the Copywriter tab does (a judgement is only ever sent once).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Integer, String, Text  # noqa: E402
from sqlalchemy.orm import Mapped, mapped_column  # noqa: E402

from assistant.storage import (  # noqa: E402
    Base,
    StorageConfig,
    ensure_tables,
    get_engine,
    insert_idempotent,
    session_factory,
)


class DurabilityProbe(Base):
    __tablename__ = "durability_probe"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch: Mapped[int] = mapped_column(Integer, index=True)
    writer: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to sleep between batches")
    parser.add_argument("--name", default="w")
    parser.add_argument("--kind", choices=["probe", "feedback"], default="probe")
    args = parser.parse_args()
    engine = get_engine(StorageConfig(url=args.url))
    if args.kind == "feedback":
        return write_feedback(engine, args)
    ensure_tables(engine)
    Session = session_factory(engine)
    payload = "x" * 2000  # big enough that a batch spans several pages: a kill can land mid-write
    for batch in range(args.batches):
        rows = [{"key": f"b{batch}-{i}", "batch": batch, "writer": args.name, "payload": payload}
                for i in range(args.batch_size)]
        with Session() as session, session.begin():
            insert_idempotent(session, DurabilityProbe, rows)
        print(f"ACK b{batch}", flush=True)
        if args.delay:
            time.sleep(args.delay)
    print("DONE", flush=True)
    return 0


def write_feedback(engine, args) -> int:
    from sqlalchemy import select

    from assistant.adcopy.feedback import AdCopyFeedback, FeedbackStore

    store = FeedbackStore(engine)
    with session_factory(engine)() as s:
        done = {int(g[1:]) for g in s.scalars(select(AdCopyFeedback.generation_id))}
    brief = {"product": "Linen duvet cover", "channel": "google_rsa", "language": "en"}
    for batch in range(args.batches):
        if batch in done:
            continue
        edited = "Breathable linen, cool summer nights " + "x" * 1500  # spans pages: a kill can land mid-write
        store.record(brief, {"headline": f"Linen duvet {batch}"}, rating="up", edited={"headline": edited},
                     generation_id=f"b{batch}", user=args.name)
        print(f"ACK b{batch}", flush=True)
        if args.delay:
            time.sleep(args.delay)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
