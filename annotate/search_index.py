"""Writing the search table (ExampleSearch, PostgreSQL only): each example's document, computed in the database
from its content by ``annotate_example_document``, the function search queries are written against
(annotate/search.py). The background job that calls this after an import is curation/services/search_index.py.

One call writes the documents of a range of ids in one statement, and only those the table does not hold yet:
running it twice writes nothing the second time and computes no document again, so a job that stopped part way
can simply start over.
"""

from __future__ import annotations

from django.db import connections

# The primary key probe of NOT EXISTS skips examples already indexed before their (costly) document is computed;
# ON CONFLICT covers a second writer doing the same range at the same time.
WRITE_SQL = """
INSERT INTO annotate_examplesearch (example_id, project_id, document)
SELECT e.id, e.project_id, annotate_example_document(e.content)
FROM annotate_example e
WHERE e.id BETWEEN %(low)s AND %(high)s AND e.project_id = %(project)s
    AND NOT EXISTS (SELECT 1 FROM annotate_examplesearch s WHERE s.example_id = e.id)
ON CONFLICT DO NOTHING
"""
COUNT_SQL = "SELECT count(*) FROM annotate_example WHERE id BETWEEN %(low)s AND %(high)s AND project_id = %(project)s"


def documents_write(*, project_id: int, low: int, high: int, using: str = "default") -> tuple[int, int]:
    """Write the documents of the project's examples with ids ``low`` to ``high`` (inclusive) that have none yet.
    Returns how many of the project's examples the range holds, and how many documents were written."""
    params = {"project": project_id, "low": low, "high": high}
    with connections[using].cursor() as cursor:
        cursor.execute(COUNT_SQL, params)
        examples = int(cursor.fetchone()[0])
        cursor.execute(WRITE_SQL, params)
        return examples, int(cursor.rowcount)
