"""The streaming readers: records, their numbers and lines, per-record problems, and files that cannot be read."""

from __future__ import annotations

import gzip
import struct

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.importing.readers import FileError, Limits, RawRecord, format_for, read_records

DEFAULT_LIMIT = 10_000_000  # the default WINNOW_IMPORT_MAX_RECORD_BYTES


def read(path, *, limit: int = DEFAULT_LIMIT, filename: str | None = None, **limits) -> list[RawRecord]:
    limits = Limits(record_bytes=limit, **limits)
    return list(read_records(path, filename or path.name, limits=limits, progress=lambda done, total: None))


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_it_reads_jsonl_records_in_order(tmp_path):
    path = write(tmp_path, "data.jsonl", b'{"text": "a"}\n{"text": "b"}\n')

    assert [raw.value for raw in read(path)] == [{"text": "a"}, {"text": "b"}]


def test_it_numbers_jsonl_records_and_gives_their_lines_skipping_blank_lines(tmp_path):
    path = write(tmp_path, "data.jsonl", b'\n{"text": "a"}\n\n   \n{"text": "b"}\n{"text": "c"}')

    assert [(raw.number, raw.line) for raw in read(path)] == [(1, 2), (2, 5), (3, 6)]


def test_it_skips_a_byte_order_mark_at_the_start_of_jsonl(tmp_path):
    path = write(tmp_path, "data.jsonl", b'\xef\xbb\xbf{"text": "a"}\n')

    assert [(raw.value, raw.error) for raw in read(path)] == [({"text": "a"}, None)]


def test_it_reports_an_invalid_json_line_and_reads_on(tmp_path):
    path = write(tmp_path, "data.jsonl", b'{"text": "a"}\n{"text": \n{"text": "c"}\n')

    records = read(path)

    assert [(raw.number, raw.line, raw.value) for raw in records] == [
        (1, 1, {"text": "a"}),
        (2, 2, None),
        (3, 3, {"text": "c"}),
    ]
    assert records[1].error.startswith("invalid JSON")


def test_it_reports_an_invalid_utf8_line_as_not_utf8(tmp_path):
    path = write(tmp_path, "data.jsonl", b'{"text": "a"}\n{"text": "caf\xe9"}\n')

    bad = read(path)[1]

    assert (bad.number, bad.line, bad.value) == (2, 2, None)
    assert "not valid UTF-8" in bad.error


def test_it_reports_an_oversized_line_with_its_size_and_the_limit_and_reads_on(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        out.write(b'{"text": "small"}\n{"text": "')
        for _ in range(50):
            out.write(b"x" * 1_000_000)
        out.write(b'"}\n{"text": "after"}\n')

    records = read(path)

    assert [(raw.number, raw.line, raw.value) for raw in records] == [
        (1, 1, {"text": "small"}),
        (2, 2, None),
        (3, 3, {"text": "after"}),
    ]
    assert records[1].size == 50_000_000 + len(b'{"text": ""}')
    assert "the record is 50.0 MB, over the limit of 10.0 MB" in records[1].error


def test_it_reads_a_json_array_with_the_line_each_record_starts_on(tmp_path):
    path = write(tmp_path, "data.json", b'[{"text": "a"},\n {"text": "b", "score": 0.5}]')

    assert [(raw.number, raw.line, raw.value) for raw in read(path)] == [
        (1, 1, {"text": "a"}),
        (2, 2, {"text": "b", "score": 0.5}),
    ]


def test_it_reads_json_lines_under_a_json_name(tmp_path):
    path = write(tmp_path, "data.json", b'{"text": "a"}\n\n{"text": "b"}\n')

    assert [(raw.number, raw.line, raw.value) for raw in read(path)] == [(1, 1, {"text": "a"}), (2, 3, {"text": "b"})]


def test_it_refuses_a_json_file_that_is_neither_an_array_nor_lines(tmp_path):
    path = write(tmp_path, "data.json", b'"just a string"')

    with pytest.raises(FileError, match="must hold a list of records"):
        read(path)


def test_it_refuses_a_broken_json_array_saying_where(tmp_path):
    path = write(tmp_path, "data.json", b'[{"text": "a"}, {"text": ]')

    with pytest.raises(FileError, match="invalid JSON after record 1"):
        read(path)


def test_it_reads_csv_rows_as_records(tmp_path):
    path = write(tmp_path, "data.csv", b"id,prompt,response\n1,Add 2 and 2.,4\n2,Name a colour.,Blue\n")

    assert [(raw.number, raw.line, raw.value) for raw in read(path)] == [
        (1, 2, {"id": "1", "prompt": "Add 2 and 2.", "response": "4"}),
        (2, 3, {"id": "2", "prompt": "Name a colour.", "response": "Blue"}),
    ]


def test_it_gives_the_line_a_csv_row_starts_on_when_cells_hold_newlines(tmp_path):
    path = write(tmp_path, "data.csv", b'prompt,response\n"one\ntwo\nthree",a\n\nnext,b\n')

    records = read(path)

    assert [(raw.number, raw.line) for raw in records] == [(1, 2), (2, 6)]
    assert records[0].value == {"prompt": "one\ntwo\nthree", "response": "a"}


def test_it_parses_a_messages_column_as_json(tmp_path):
    messages = [{"role": "user", "content": "Hi, you"}, {"role": "assistant", "content": "Hello"}]
    cell = orjson.dumps(messages).decode().replace('"', '""')
    path = write(tmp_path, "data.csv", f'messages\n"{cell}"\n'.encode())

    assert read(path)[0].value == {"messages": messages}


def test_it_gathers_metadata_dot_columns_into_metadata(tmp_path):
    path = write(tmp_path, "data.csv", b"text,metadata.source,metadata.lang\nhello,wiki,en\nbye,,fr\n")

    assert [raw.value for raw in read(path)] == [
        {"text": "hello", "metadata": {"source": "wiki", "lang": "en"}},
        {"text": "bye", "metadata": {"lang": "fr"}},
    ]


def test_it_leaves_out_empty_cells_of_optional_csv_columns(tmp_path):
    path = write(tmp_path, "data.csv", b"id,system,prompt,response\n,,p,r\n")

    assert read(path)[0].value == {"id": None, "system": None, "prompt": "p", "response": "r"}


def test_it_reports_a_csv_row_with_the_wrong_number_of_fields(tmp_path):
    path = write(tmp_path, "data.csv", b"prompt,response\np,r\nonly one\nq,s\n")

    records = read(path)

    assert [(raw.number, raw.line, raw.error) for raw in records] == [
        (1, 2, None),
        (2, 3, "the row has 1 fields but the header has 2"),
        (3, 4, None),
    ]


def test_it_refuses_a_csv_file_that_is_not_utf8(tmp_path):
    path = write(tmp_path, "data.csv", "text\ncafé\n".encode("latin-1"))

    with pytest.raises(FileError, match="not valid UTF-8"):
        read(path)


def test_it_reads_parquet_rows(tmp_path):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"id": [1, 2], "prompt": ["p1", "p2"], "response": ["r1", "r2"]}), path)

    assert [(raw.number, raw.line, raw.value) for raw in read(path)] == [
        (1, None, {"id": 1, "prompt": "p1", "response": "r1"}),
        (2, None, {"id": 2, "prompt": "p2", "response": "r2"}),
    ]


def test_it_reads_parquet_list_and_struct_columns(tmp_path):
    path = tmp_path / "chat.parquet"
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    pq.write_table(pa.table({"messages": [messages], "metadata": [{"source": "wiki"}]}), path)

    assert read(path)[0].value == {"messages": messages, "metadata": {"source": "wiki"}}


def test_it_refuses_a_file_that_is_not_parquet(tmp_path):
    path = write(tmp_path, "data.parquet", b'{"text": "a"}\n')

    with pytest.raises(FileError, match="not a readable Parquet file"):
        read(path)


def test_it_reads_gzipped_jsonl(tmp_path):
    path = write(tmp_path, "data.jsonl.gz", gzip.compress(b'{"text": "a"}\n{"text": "b"}\n'))

    assert [(raw.number, raw.line, raw.value) for raw in read(path)] == [(1, 1, {"text": "a"}), (2, 2, {"text": "b"})]


def test_it_refuses_a_gz_file_that_is_not_gzip(tmp_path):
    path = write(tmp_path, "data.jsonl.gz", b'{"text": "a"}\n')

    with pytest.raises(FileError, match="not a complete gzip file"):
        read(path)


def test_it_refuses_a_corrupted_gzip_file(tmp_path):
    data = bytearray(gzip.compress(b"".join(b'{"text": "%d"}\n' % i for i in range(2000))))
    data[20:40] = b"\xff" * 20  # breaks the deflate stream itself, not just the checksum
    path = write(tmp_path, "data.jsonl.gz", bytes(data))

    with pytest.raises(FileError, match="gzip"):
        read(path)


@pytest.mark.parametrize("name", ["data.txt", "data.xlsx", "data", "data.txt.gz"])
def test_it_refuses_an_unsupported_extension(tmp_path, name):
    path = write(tmp_path, name, b'{"text": "a"}\n')

    with pytest.raises(FileError, match="unsupported file type"):
        read(path)


def test_it_refuses_gzipped_parquet():
    with pytest.raises(FileError, match="without .gz"):
        format_for("data.parquet.gz")


def test_it_reports_the_whole_file_as_read_at_the_end(tmp_path):
    path = write(tmp_path, "data.jsonl", b'{"text": "a"}\n')
    calls = []

    list(read_records(path, path.name, limits=Limits(), progress=lambda done, total: calls.append((done, total))))

    assert calls[-1] == (path.stat().st_size, path.stat().st_size)


def test_it_numbers_lines_right_across_megabytes_of_blank_lines(tmp_path):
    path = write(tmp_path, "data.jsonl", b'{"text": "a"}\n' + b"\n" * 3_000_000 + b'  \n{"text": "b"}\n')

    assert [(raw.number, raw.line) for raw in read(path)] == [(1, 1), (2, 3_000_003)]


def test_it_reads_a_file_of_nothing_but_blank_lines_as_no_records(tmp_path):
    path = write(tmp_path, "data.jsonl", b" \n\t\r\n" * 5_000_000)

    assert read(path) == []


def test_it_stops_a_gzip_file_that_expands_like_a_decompression_bomb(tmp_path):
    path = write(tmp_path, "data.jsonl.gz", gzip.compress(b"\n" * 200_000_000))

    with pytest.raises(FileError, match="expands more than 100 times when decompressed"):
        read(path)


def test_it_stops_a_gzip_file_that_expands_past_the_size_limit(tmp_path):
    lines = b"".join(b'{"text": "%d"}\n' % n for n in range(200_000))
    path = write(tmp_path, "data.jsonl.gz", gzip.compress(lines))

    with pytest.raises(FileError, match="expands to more than 1.0 MB when decompressed"):
        read(path, decompressed_bytes=1_000_000)


def test_it_refuses_a_csv_header_with_more_columns_than_allowed(tmp_path):
    header = ",".join(f"c{n}" for n in range(1_000_000)).encode()
    path = write(tmp_path, "data.csv", header + b"\n" + b"x," * 999_999 + b"x\n")

    with pytest.raises(FileError, match="the CSV header has 1,000,000 columns; at most 1,000 are allowed"):
        read(path)


def test_it_names_the_repeated_columns_of_a_wide_csv_header(tmp_path):
    header = ",".join(["text"] + [f"c{n % 5000}" for n in range(10_000)]).encode()
    path = write(tmp_path, "data.csv", header + b"\n")

    with pytest.raises(FileError, match="name every column once \\(check: 'c0', 'c1',"):
        read(path, columns=20_000)


def test_it_gives_csv_lines_right_across_megabytes_of_blank_lines(tmp_path):
    data = b'text\n"one\n\ntwo"\n' + b"\n" * 3_000_000 + b"after\n"
    path = write(tmp_path, "data.csv", data)

    records = read(path)

    assert [(raw.number, raw.line, raw.value) for raw in records] == [
        (1, 2, {"text": "one\n\ntwo"}),
        (2, 3_000_005, {"text": "after"}),
    ]


def test_it_keeps_integers_beyond_64_bits_in_csv_json_cells_exact(tmp_path):
    path = write(tmp_path, "data.csv", b'text,metadata\nhi,"{""n"": 18446744073709551616}"\n')

    assert read(path)[0].value["metadata"] == {"n": 18446744073709551616}


def test_it_skips_an_oversized_record_of_a_json_array_and_reads_on(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as out:
        out.write(b'[{"text": "small"},\n {"text": "')
        for _ in range(30):
            out.write(b'x\\"' * 500_000)  # escaped quotes, so the skip has to follow the string to its end
        out.write(b'", "more": [1, 2, {"a": "]"}]},\n {"text": "after"}]')

    records = read(path)

    assert [(raw.number, raw.line, raw.value) for raw in records] == [
        (1, 1, {"text": "small"}),
        (2, 2, None),
        (3, 3, {"text": "after"}),
    ]
    assert "over the limit of 10.0 MB" in records[1].error


def test_it_keeps_what_other_json_parsers_change_in_a_json_array(tmp_path):
    path = write(tmp_path, "data.json", b'[{"text": "\\ud800", "n": 18446744073709551616}]')

    [record] = read(path)

    assert record.value == {"text": "\ud800", "n": 18446744073709551616}


def test_it_reports_a_json_array_record_nested_too_deeply_to_parse_and_reads_on(tmp_path):
    deep = b'{"text": "x", "metadata": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    path = write(tmp_path, "data.json", b"[" + deep + b', {"text": "after"}]')

    records = read(path)

    assert [(raw.number, raw.value) for raw in records] == [(1, None), (2, {"text": "after"})]
    assert "nested more than 64 levels deep" in records[0].error


def test_it_reports_nan_in_a_json_array_by_record(tmp_path):
    path = write(tmp_path, "data.json", b'[{"text": "a", "score": NaN}, {"text": "b", "score": 1e999}, {"text": "c"}]')

    records = read(path)

    assert [raw.value for raw in records] == [None, None, {"text": "c"}]
    assert "holds NaN, which is not JSON" in records[0].error
    assert "too large for a floating-point number" in records[1].error


def test_it_reports_a_parquet_row_that_is_not_utf8_and_reads_the_others(tmp_path):
    offsets = struct.pack("<4i", 0, 2, 7, 9)
    text = pa.Array.from_buffers(pa.string(), 3, [None, pa.py_buffer(offsets), pa.py_buffer(b"ok\xed\xa0\x80baok")])
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": text}), path)

    records = read(path)

    assert [(raw.number, raw.value) for raw in records] == [(1, {"text": "ok"}), (2, None), (3, {"text": "ok"})]
    assert "not valid UTF-8" in records[1].error


def test_it_reports_a_parquet_row_over_the_limit_without_converting_it(tmp_path):
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": ["small"] * 30 + ["x" * 2_000, "also small"]}), path)

    records = read(path, limit=1_000)

    assert [raw.number for raw in records if raw.value is None] == [31]
    assert records[31].value == {"text": "also small"}
    assert "the record is 0.0 MB, over the limit" in records[30].error


def test_it_reports_the_rows_of_a_parquet_row_group_too_large_to_read(tmp_path):
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": ["x" * 3_000, "y" * 3_000]}), path, row_group_size=2)

    records = read(path, limit=1_000)

    assert [raw.number for raw in records] == [1, 2]
    assert all("row group of 2 rows" in raw.error for raw in records)


def test_it_refuses_a_parquet_file_that_expands_like_a_decompression_bomb(tmp_path):
    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"text": ["x" * 10_000_000]}), path, compression="zstd")

    with pytest.raises(FileError, match="expands more than 100 times"):
        read(path, limit=20_000_000)
