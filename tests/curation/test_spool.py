"""The bulk writers, without Django: COPY text for PostgreSQL and the spool file for SQLite."""

from __future__ import annotations

import sqlite3

import orjson

from curation.importing.spool import INSERT_SQL, CopyStream, Row, Spool, copy_line


def row(external_id: str, text: str) -> Row:
    content = orjson.dumps({"text": text})
    return Row(external_id, content, b"{}", "h" * 64)


def test_it_escapes_ids_and_json_for_copy_text():
    line = copy_line(7, row("a\tb\\c", 'quote " and \\ backslash\nnewline'))
    fields = line.rstrip(b"\n").split(b"\t")
    assert fields[0] == b"7"
    assert fields[1] == b"a\\tb\\\\c"
    # JSON's own escapes (\\n, \\\\) have their backslashes doubled so COPY hands the JSON text back unchanged.
    assert fields[2] == b'{"text":"quote \\\\" and \\\\\\\\ backslash\\\\nnewline"}'
    assert line.count(b"\n") == 1


def test_it_streams_every_row_in_chunks_of_about_the_size_asked():
    stream = CopyStream(1, iter([row(str(n), "x" * 100) for n in range(50)]), keep_writing=lambda: True)
    chunks = []
    while chunk := stream.read(1000):
        chunks.append(chunk)
    assert len(chunks) > 1
    assert b"".join(chunks).count(b"\n") == 50
    assert stream.sent == 50


def test_it_stops_sending_but_keeps_drawing_rows_once_the_import_is_doomed():
    drawn = []

    def rows():
        for n in range(10):
            drawn.append(n)
            yield row(str(n), "x")

    stream = CopyStream(1, rows(), keep_writing=lambda: len(drawn) <= 3)
    data = b""
    while chunk := stream.read(10):
        data += chunk
    assert drawn == list(range(10))
    assert data.count(b"\n") == 3 == stream.sent


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
