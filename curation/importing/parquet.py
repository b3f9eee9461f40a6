"""Stream the rows of a Parquet file as records, checking their size before converting them to Python.

The file's metadata says how large each row group is once decompressed: a file that expands past the limits is
refused before anything is read, a row group whose rows average more than the per-record limit is reported
without being read, and the rest is read in batches sized to hold about ``BATCH_BYTES`` at a time. In a batch,
rows whose text columns alone are over the limit are reported without being converted.

Pure Python (no Django).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.importing.sources import (
    RATIO_CHECKED_AFTER,
    FileError,
    Limits,
    ProgressCallback,
    RawRecord,
    mb,
    too_large,
)

BATCH_ROWS = 2048
BATCH_BYTES = 64_000_000
TEXT_TYPES = (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())


def _check_expansion(metadata: pq.FileMetaData, file_size: int, limits: Limits) -> None:
    if metadata.num_columns > limits.columns:
        raise FileError(
            f"the file has {metadata.num_columns:,} columns; at most {limits.columns:,} are allowed "
            "(WINNOW_IMPORT_MAX_COLUMNS); keep only the columns you need"
        )
    expanded = sum(metadata.row_group(g).total_byte_size for g in range(metadata.num_row_groups))
    if expanded > limits.decompressed_bytes:
        raise FileError(
            f"the file holds {mb(expanded)} once decompressed, more than the limit of "
            f"{mb(limits.decompressed_bytes)} (WINNOW_IMPORT_MAX_DECOMPRESSED_BYTES); split it into smaller files"
        )
    if expanded > RATIO_CHECKED_AFTER and expanded > limits.compression_ratio * max(file_size, 1):
        raise FileError(
            f"the file expands more than {limits.compression_ratio} times when decompressed ({mb(file_size)} holds "
            f"{mb(expanded)}), which is what a decompression bomb does, not a dataset; ask the administrator to "
            "raise WINNOW_IMPORT_MAX_COMPRESSION_RATIO if it is genuine"
        )


def _text_sizes(batch: pa.RecordBatch) -> list[int] | None:
    """Bytes of each row's text and binary columns (the columns a huge value is almost always in), or None."""
    total: Any = None
    for column in batch.columns:
        if column.type in TEXT_TYPES:
            # A string or binary column (its type was just checked); the stubs cannot narrow an Array by its type.
            lengths = pc.binary_length(cast("pa.StringArray", column))
            filled = pc.fill_null(lengths, pa.scalar(0, type=lengths.type))
            total = filled if total is None else pc.add(total, filled)
    return None if total is None else total.to_pylist()


def _row(batch: pa.RecordBatch, index: int) -> tuple[Any, str | None]:
    try:
        return batch.slice(index, 1).to_pylist()[0], None
    except UnicodeDecodeError as exc:
        return None, f"holds text that is not valid UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8"


def _batch_records(batch: pa.RecordBatch, first: int, limit: int) -> Iterator[RawRecord]:
    sizes = _text_sizes(batch)
    too_big = {i for i, size in enumerate(sizes or ()) if size > limit}
    if not too_big:
        try:
            for index, value in enumerate(batch.to_pylist()):
                yield RawRecord(first + index, None, value=value)
            return
        except UnicodeDecodeError:
            pass  # some row is not UTF-8: convert them one at a time to find out which
    for index in range(batch.num_rows):
        if index in too_big:
            yield RawRecord(first + index, None, error=too_large(sizes[index], limit), size=sizes[index])  # type: ignore[index]
            continue
        value, error = _row(batch, index)
        yield RawRecord(first + index, None, value=value, error=error)


def read_parquet(path: Path, limits: Limits, progress: ProgressCallback) -> Iterator[RawRecord]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileError(f"not a readable Parquet file: {exc}") from None
    metadata = parquet.metadata
    _check_expansion(metadata, path.stat().st_size, limits)
    total, limit = metadata.num_rows, limits.record_bytes
    number = 0
    try:
        for group in range(metadata.num_row_groups):
            rows, size = metadata.row_group(group).num_rows, metadata.row_group(group).total_byte_size
            if not rows:
                continue
            if size / rows > limit:
                # Some row of the group is over the limit, and which one cannot be told without reading it.
                reason = (
                    f"is in a Parquet row group of {rows:,} rows that holds {mb(size)}, more than the limit of "
                    f"{mb(limit)} per record (WINNOW_IMPORT_MAX_RECORD_BYTES) on average; split or shorten the "
                    "large records, or write the file with smaller row groups"
                )
                for _ in range(rows):
                    number += 1
                    yield RawRecord(number, None, error=reason)
                continue
            batch_rows = max(1, min(BATCH_ROWS, BATCH_BYTES * rows // max(size, 1)))
            for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group]):
                yield from _batch_records(batch, number + 1, limit)
                number += batch.num_rows
                progress(number, total)
    except (pa.ArrowException, OSError) as exc:
        raise FileError(f"the Parquet file is damaged after row {number}: {exc}") from None
    progress(total, total)
