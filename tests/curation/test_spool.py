"""The bulk writers, without Django: binary COPY for PostgreSQL, the ids it takes, and the spool file for SQLite."""

from __future__ import annotations

import contextlib
import sqlite3
import struct

import orjson

from curation.importing.spool import COPY_HEADER, COPY_TRAILER, INSERT_SQL, CopyStream, IdBlocks, Row, Spool


def row(external_id: str, text: str) -> Row:
    content = orjson.dumps({"text": text})
    return Row(external_id, content, b"{}", "h" * 64)


def decode(data: bytes) -> list[tuple]:
    """Read PostgreSQL's binary COPY format back: what the server will see."""
    assert data.startswith(COPY_HEADER) and data.endswith(COPY_TRAILER)
    rows, pos = [], len(COPY_HEADER)
    while True:
        (count,) = struct.unpack_from(">h", data, pos)
        pos += 2
        if count == -1:
            return rows
        fields = []
        for _ in range(count):
            (length,) = struct.unpack_from(">i", data, pos)
            fields.append(data[pos + 4 : pos + 4 + length])
            pos += 4 + length
        rows.append(tuple(fields))


def sequence(start: int = 100):
    """A stand-in for the database sequence: hands out consecutive ids."""
    state = {"next": start}

    def reserve(count: int) -> list[tuple[int, int]]:
        first = state["next"]
        state["next"] += count
        return [(first, first + count - 1)]

    return reserve


def test_it_writes_binary_rows_that_need_no_escaping():
    tricky = row("a\tb\\c\nd", 'quote " and \\ backslash\nnewline')
    stream = CopyStream(7, iter([tricky]), keep_writing=lambda: True, ids=IdBlocks(sequence(41)))

    data = b""
    while chunk := stream.read(1000):
        data += chunk

    [(example_id, project_id, external_id, content, metadata, content_hash)] = decode(data)
    assert struct.unpack(">q", example_id) == (41,) and struct.unpack(">q", project_id) == (7,)
    assert external_id == b"a\tb\\c\nd"
    assert content == b"\x01" + tricky.content_json  # jsonb's binary form: a version byte, then the JSON text
    assert (metadata, content_hash) == (b"\x01{}", b"h" * 64)


def test_it_streams_every_row_in_chunks_of_about_the_size_asked():
    stream = CopyStream(1, iter([row(str(n), "x" * 100) for n in range(50)]), lambda: True, IdBlocks(sequence()))
    chunks = []
    while chunk := stream.read(1000):
        chunks.append(chunk)
    assert len(chunks) > 1
    assert [fields[2] for fields in decode(b"".join(chunks))] == [str(n).encode() for n in range(50)]
    assert stream.sent == 50


def test_it_stops_sending_but_keeps_drawing_rows_once_the_import_is_doomed():
    drawn = []

    def rows():
        for n in range(10):
            drawn.append(n)
            yield row(str(n), "x")

    stream = CopyStream(1, rows(), keep_writing=lambda: len(drawn) <= 3, ids=IdBlocks(sequence()))
    data = b""
    while chunk := stream.read(10):
        data += chunk
    assert drawn == list(range(10))
    assert len(decode(data)) == 3 == stream.sent


def test_it_keeps_an_error_raised_while_drawing_rows():
    def rows():
        yield row("1", "x")
        raise LookupError("cancelled")

    stream = CopyStream(1, rows(), keep_writing=lambda: True, ids=IdBlocks(sequence()))
    with contextlib.suppress(LookupError):
        stream.read(1 << 20)
    assert isinstance(stream.error, LookupError)


def test_it_knows_which_row_got_which_id_when_the_sequence_hands_out_gaps():
    handed = iter([[(10, 11), (20, 20)], [(30, 32)]])
    blocks = IdBlocks(lambda count: next(handed), block=3)

    taken = [blocks.take() for _ in range(5)]

    assert taken == [10, 11, 20, 30, 31]
    assert blocks.ranges == [(10, 11), (20, 20), (30, 31)]
    assert [blocks.position(i) for i in taken] == [0, 1, 2, 3, 4]


def test_it_loads_spooled_rows_into_sqlite_and_removes_its_file(tmp_path):
    spool = Spool(project_id=3, directory=tmp_path)
    for n in range(12_000):
        spool.add(row(f"id-{n}", f"text {n}"))
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE annotate_example (project_id, external_id, content, metadata, content_hash)")
    seen = []
    spool.load(db.cursor(), seen.append)
    spool.close()
    assert db.execute("SELECT COUNT(*), MIN(project_id), MAX(project_id) FROM annotate_example").fetchone() == (
        12_000,
        3,
        3,
    )
    assert orjson.loads(db.execute("SELECT content FROM annotate_example WHERE external_id='id-7'").fetchone()[0]) == {
        "text": "text 7"
    }
    assert seen == [5_000, 10_000, 12_000]
    assert list(tmp_path.iterdir()) == []
    assert "?" in INSERT_SQL


def test_it_splits_the_rows_into_several_copies_of_about_the_chunk_size():
    stream = CopyStream(1, iter([row(str(n), "x" * 100) for n in range(50)]), lambda: True, IdBlocks(sequence()), 1000)
    copies = []
    while True:
        data = b""
        while chunk := stream.read(300):
            data += chunk
        copies.append([fields[2] for fields in decode(data)])
        if stream.done:
            break
        stream.next_chunk()
    assert len(copies) > 3
    assert [external_id for copy in copies for external_id in copy] == [str(n).encode() for n in range(50)]
    assert stream.ids.ranges_from(10) == [(110, 149)]
