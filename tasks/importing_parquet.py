"""Parquet records for the item import, read batch by batch with pyarrow."""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq


def parquet_records(stream: BinaryIO) -> Iterator[tuple[int, dict]]:
    # Here: tasks.importing imports this module lazily (pyarrow), and this one needs its LineError.
    from .importing import LineError

    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowInvalid, OSError) as exc:
        yield 1, LineError(1, "", f"Not a readable Parquet file: {exc}")
        return
    row = 0
    for batch in parquet.iter_batches(batch_size=2000):
        for record in batch.to_pylist():
            row += 1
            yield row, {k: v for k, v in record.items() if v is not None}
