"""The inspection statistics (curation/stats) as the statistics page shows them: rows for its tables and the data
of its charts, from a finished figures dict. No database access."""

from __future__ import annotations

from typing import Any

from curation.stats.figures import UNITS
from curation.stats.text import ARTEFACT_LABELS

METADATA_ROWS = 15
METADATA_CHARTS = 6
SUMMARY_FIGURES = ("count", "mean", "min", "p50", "p90", "p99", "max")


def share(count: int | None, total: int) -> str:
    return f"{count / total:.1%}" if total and count is not None else "—"


def _counted(values: list[list[Any]], total: int) -> list[dict[str, Any]]:
    return [{"value": value, "count": count, "share": share(count, total)} for value, count in values]


def _histogram_rows(summaries: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """One row per bin of any of the units' histograms: the bin's label and each unit's count."""
    bins: dict[int, dict[str, Any]] = {}
    for unit, summary in summaries.items():
        for label, low, count in (summary or {}).get("histogram", []):
            bins.setdefault(low, {"low": low, "label": label, "counts": dict.fromkeys(summaries, 0)})
            bins[low]["counts"][unit] = count
    return [
        {"label": row["label"], "counts": [row["counts"][unit] for unit in summaries]}
        for _, row in sorted(bins.items())
    ]


def _chart(histogram: list[list[Any]] | None) -> dict[str, list[Any]]:
    rows = histogram or []
    return {"labels": [row[0] for row in rows], "counts": [row[2] for row in rows]}


def figures_tables(figures: dict[str, Any]) -> dict[str, Any]:
    """The rows of every table of one set of figures (the whole version, or one slice)."""
    total = int(figures["examples"])
    fields = []
    for name, field in figures["fields"].items():
        summaries = {unit: field[unit] for unit in UNITS}
        fields.append(
            {
                "name": name,
                "present": field["present"],
                "units": [
                    {"unit": unit, "figures": [(summaries[unit] or {}).get(f) for f in SUMMARY_FIGURES]}
                    for unit in UNITS
                ],
                "exact": all((summaries[unit] or {}).get("exact", True) for unit in UNITS),
                "histogram": _histogram_rows(summaries),
            }
        )
    turns = figures.get("turns")
    metadata = [
        {
            "key": key,
            "records": counts["records"],
            "rows": _counted(counts["values"][:METADATA_ROWS], total),
            "more": len(counts["values"]) > METADATA_ROWS,
            "other": counts["other"] + sum(n for _, n in counts["values"][METADATA_ROWS:]),
            "missing": total - counts["records"],
            "distinct": counts["distinct"],
            "approximate": counts["approximate"],
        }
        for key, counts in figures["metadata"].items()
    ]
    duplicates = figures["duplicates"]
    artefacts = [
        {
            "kind": kind,
            "label": ARTEFACT_LABELS.get(kind, kind),
            "records": found["records"],
            "share": share(found["records"], total),
            "occurrences": found["occurrences"],
            "by_field": [
                {"field": name, "records": cell["records"], "occurrences": cell["occurrences"]}
                for name, cell in found["by_field"].items()
            ],
        }
        for kind, found in figures["artefacts"].items()
    ]
    openers = figures["openers"]
    prompts = int(openers["prompts"])
    pairs = figures["verb_object"]
    return {
        "examples": total,
        "shapes": _counted([[shape, count] for shape, count in figures["shapes"].items()], total),
        "fields": fields,
        "turns": turns,
        "turns_histogram": [{"label": label, "count": count} for label, _, count in (turns or {}).get("histogram", [])],
        "languages": _counted(figures["languages"]["values"], total),
        "languages_other": figures["languages"]["other"],
        "metadata": metadata,
        "metadata_not_counted": figures.get("metadata_keys_not_counted", []),
        "exact_duplicates": duplicates["exact"],
        "exact_sizes": sorted(((int(s), n) for s, n in duplicates["exact"]["clusters_by_size"].items())),
        "removed_duplicates": duplicates["removed"],
        "removed_sizes": sorted(
            ((int(s), n) for s, n in ((duplicates["removed"] or {}).get("clusters_by_size") or {}).items())
        ),
        "artefacts": artefacts,
        "prompts": prompts,
        "first_word": _counted(openers["first_word"]["values"], prompts),
        "first_two_words": _counted(openers["first_two_words"]["values"], prompts),
        "first_two_distinct": openers["first_two_words"]["distinct"],
        "top10_share": share(round(openers["top10_share"] * prompts) if openers["top10_share"] else None, prompts),
        "with_pair": pairs["with_pair"],
        "with_pair_share": share(pairs["with_pair"], prompts),
        "pairs": _counted(pairs["pairs"]["values"], pairs["with_pair"]),
        "verbs": _counted(pairs["verbs"], pairs["with_pair"]),
        "sample": figures["sample"],
    }


def figures_charts(figures: dict[str, Any]) -> dict[str, Any]:
    """The data of every chart of one set of figures, for the page's script (json_script: escaped)."""
    duplicates = figures["duplicates"]
    clusters = (duplicates["removed"] or duplicates["exact"])["clusters_by_size"]
    return {
        "shapes": {"labels": list(figures["shapes"]), "counts": list(figures["shapes"].values())},
        "lengths": {
            name: {unit: _chart((field[unit] or {}).get("histogram")) for unit in UNITS}
            for name, field in figures["fields"].items()
        },
        "turns": _chart((figures.get("turns") or {}).get("histogram")),
        "languages": {
            "labels": [value for value, _ in figures["languages"]["values"]],
            "counts": [count for _, count in figures["languages"]["values"]],
        },
        "metadata": [
            {
                "key": key,
                "labels": [value for value, _ in counts["values"][:METADATA_ROWS]],
                "counts": [count for _, count in counts["values"][:METADATA_ROWS]],
            }
            for key, counts in list(figures["metadata"].items())[:METADATA_CHARTS]
        ],
        "duplicates": {
            "labels": [f"{size} copies" for size in clusters],
            "counts": list(clusters.values()),
            "removed": duplicates["removed"] is not None,
        },
        "artefacts": {
            "labels": [ARTEFACT_LABELS.get(kind, kind) for kind in figures["artefacts"]],
            "counts": [found["records"] for found in figures["artefacts"].values()],
        },
    }


def slice_rows(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per slice of sliced statistics: its size and a few telling figures."""
    sliced = stats.get("slice") or {}
    total = int(stats["examples"])
    rows = []
    for entry in sliced.get("values", []):
        figures = entry["figures"]
        lengths = {
            name: ((field.get("tokens") or {}).get("p50"), (field.get("tokens") or {}).get("p90"))
            for name, field in figures["fields"].items()
        }
        rows.append(
            {
                "value": entry["value"],
                "examples": figures["examples"],
                "share": share(figures["examples"], total),
                "shapes": ", ".join(f"{shape} {count}" for shape, count in figures["shapes"].items()),
                "tokens": [f"{name} {p50:g} / {p90:g}" for name, (p50, p90) in lengths.items() if p50 is not None],
                "languages": ", ".join(f"{code} {count}" for code, count in figures["languages"]["values"][:3]),
                "duplicates": figures["duplicates"]["exact"]["extra_copies"],
            }
        )
    return rows


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _points(value: float | None) -> str:
    """A change of share in percentage points, signed."""
    return "—" if value is None else f"{value * 100:+.1f} pp"


def _compared(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "this_share": _percent(row.get("this_share")),
            "other_share": _percent(row.get("other_share")),
            "share_change": _points(row.get("share_change")),
        }
        for row in rows
    ]


def comparison_tables(changes: dict[str, Any]) -> dict[str, Any]:
    """The comparison's rows: distributions with their shares in words, length quantiles per field and unit."""
    lengths = []
    for name, units in changes["fields"].items():
        for unit in UNITS:
            row = units[unit]
            lengths.append(
                {
                    "field": name,
                    "unit": unit,
                    "figures": [
                        (f, row["this"].get(f), row["other"].get(f), row["change"].get(f))
                        for f in ("count", "p50", "p90", "max")
                    ],
                }
            )
    return {
        "examples": changes["examples"],
        "shapes": _compared(changes["shapes"]),
        "languages": _compared(changes["languages"]),
        "metadata": [
            {"key": key, "rows": _compared(rows[:METADATA_ROWS])} for key, rows in changes["metadata"].items()
        ],
        "lengths": lengths,
        "artefacts": _compared(
            [
                {"kind": kind, "label": ARTEFACT_LABELS.get(kind, kind), **row}
                for kind, row in changes["artefacts"].items()
            ]
        ),
        "duplicates": changes["duplicates"],
    }


def coverage_table(coverage: dict[str, Any]) -> dict[str, Any]:
    """The coverage rows with shares and gaps in words; a gap beyond 5 points is marked."""

    def row(entry: dict[str, Any]) -> dict[str, Any]:
        gap = entry["gap"]
        return {
            **entry,
            "target": _percent(entry["target"]),
            "share": _percent(entry["share"]),
            "gap": _points(gap),
            "off": gap is not None and abs(gap) > 0.05,
        }

    return {**coverage, "rows": [row(entry) for entry in coverage["rows"]], "rest": row(coverage["rest"])}
