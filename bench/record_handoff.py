"""What the CDK's hand-off of records from its worker threads to the main thread costs, alone (not a test).

    .venv/bin/python bench/record_handoff.py              # 1M records, 1 and 8 workers: ~1 min

The CDK's concurrent read puts every record into one `Queue(maxsize=10_000)` by itself
(`PartitionReader.process_partition`), and the main thread takes each out and asks `queue.empty()`
(`ConcurrentSource._consume_from_queue`): three acquisitions of the queue's lock per record, and, once
the workers are ahead, a thread woken per record. Here the CDK's own `PartitionReader` reads partitions
of ready-made records (no HTTP, no parsing), and the main thread takes them out as the CDK does and
serialises each with orjson, a stand-in for writing the record message. The same records handed over a
page (a list) at a time, the change proposed in docs/cdk-upstream.md #6, are the comparison.
Prints the process CPU per record of each.
"""

from __future__ import annotations

import argparse
import threading
import time
from queue import Queue
from typing import Any

import orjson
from airbyte_cdk.sources.streams.concurrent.partition_reader import PartitionReader
from airbyte_cdk.sources.streams.concurrent.partitions.types import PartitionCompleteSentinel

RECORD = {f"field{i}": "2026-01-01T00:00:00Z" if i % 2 else i for i in range(12)}


class ReadyPartition:
    """A partition whose records are already in memory: what a page parser hands the CDK."""

    def __init__(self, records: int) -> None:
        self._records = records

    def read(self) -> list[dict[str, Any]]:
        return [dict(RECORD) for _ in range(self._records)]

    def stream_name(self) -> str:
        return "handoff"


class NoCursor:
    def observe(self, record: Any) -> None:
        pass

    def close_partition(self, partition: Any) -> None:
        pass


def by_page(queue: Queue[Any], partition: ReadyPartition) -> None:
    """The proposed hand-off: one queue item a page."""
    queue.put(partition.read())
    queue.put(PartitionCompleteSentinel(partition, True))  # type: ignore[arg-type]


def run(kind: str, workers: int, records: int, page: int) -> float:
    queue: Queue[Any] = Queue(maxsize=10_000)
    partitions = [ReadyPartition(page) for _ in range(records // page)]
    share = [partitions[i::workers] for i in range(workers)]

    def work(mine: list[ReadyPartition]) -> None:
        for partition in mine:
            if kind == "CDK":
                PartitionReader(queue).process_partition(partition, NoCursor())  # type: ignore[arg-type]
            else:
                by_page(queue, partition)

    started = time.process_time()
    threads = [threading.Thread(target=work, args=(mine,)) for mine in share]
    for thread in threads:
        thread.start()
    complete = taken = 0
    while complete < len(partitions):
        item = queue.get()
        if isinstance(item, PartitionCompleteSentinel):
            complete += 1
        elif isinstance(item, list):
            for record in item:
                orjson.dumps(record)
            taken += len(item)
        else:
            orjson.dumps(item)
            taken += 1
        queue.empty()
    for thread in threads:
        thread.join()
    assert taken == records, (taken, records)
    return (time.process_time() - started) / records * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=5_000, help="records a partition (Listrak's page: 5,000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.records:,} records in partitions of {args.page:,}; process CPU µs per record, min of {args.repeat}")
    for workers in (1, 8):
        figures = {
            kind: min(run(kind, workers, args.records, args.page) for _ in range(args.repeat))
            for kind in ("CDK", "page")
        }
        print(
            f"  {workers} worker(s): the CDK's record-by-record hand-off {figures['CDK']:.2f} µs, "
            f"a page at a time {figures['page']:.2f} µs ({figures['CDK'] / figures['page']:.1f}x)"
        )


if __name__ == "__main__":
    main()
