"""Reading finished statistics: what two of them differ by (a version against another, e.g. its parent: what a
curation step changed), and how a metadata key's values cover target shares. Pure, no Django."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from curation.stats.figures import UNITS

SUMMARY_FIGURES = ("mean", "p50", "p90", "p99", "max")
ROWS_SHOWN = 30


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _change(this: float | None, other: float | None) -> float | None:
    return None if this is None or other is None else round(this - other, 4)


def _distribution_rows(
    this: Mapping[str, int], other: Mapping[str, int], this_total: int, other_total: int
) -> list[dict[str, Any]]:
    """A row per value of either distribution: counts, shares of each total, and the change of share."""
    values = sorted(set(this) | set(other), key=lambda v: (-max(this.get(v, 0), other.get(v, 0)), v))
    rows = []
    for value in values[:ROWS_SHOWN]:
        mine, theirs = this.get(value, 0), other.get(value, 0)
        share, other_share = _share(mine, this_total), _share(theirs, other_total)
        rows.append(
            {
                "value": value,
                "this": mine,
                "other": theirs,
                "this_share": share,
                "other_share": other_share,
                "change": mine - theirs,
                "share_change": _change(share, other_share),
            }
        )
    return rows


def _values(distribution: Mapping[str, Any] | None) -> dict[str, int]:
    """``{"values": [[value, count], …]}`` as a dict (an absent distribution is empty)."""
    return {str(value): int(count) for value, count in (distribution or {}).get("values", [])}


def _summary_change(this: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {"this": {}, "other": {}, "change": {}}
    for name in ("count", *SUMMARY_FIGURES):
        mine = (this or {}).get(name)
        theirs = (other or {}).get(name)
        row["this"][name], row["other"][name] = mine, theirs
        row["change"][name] = _change(mine, theirs)
    return row


def compare(this: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """What ``this`` (finished statistics) differs from ``other`` by: counts and shares by shape, language,
    metadata value and artefact; the length quantiles of every field in every unit; turns; duplicates.
    ``change`` is always this minus other."""
    total, other_total = int(this["examples"]), int(other["examples"])
    fields = {}
    for name in sorted(set(this["fields"]) | set(other["fields"])):
        mine, theirs = this["fields"].get(name) or {}, other["fields"].get(name) or {}
        fields[name] = {unit: _summary_change(mine.get(unit), theirs.get(unit)) for unit in UNITS}
    metadata = {
        key: _distribution_rows(
            _values(this["metadata"].get(key)), _values(other["metadata"].get(key)), total, other_total
        )
        for key in sorted(set(this["metadata"]) | set(other["metadata"]))
    }
    artefacts = {}
    for kind in this["artefacts"]:
        mine_records = this["artefacts"][kind]["records"]
        their_records = (other["artefacts"].get(kind) or {}).get("records", 0)
        artefacts[kind] = {
            "this": mine_records,
            "other": their_records,
            "this_share": _share(mine_records, total),
            "other_share": _share(their_records, other_total),
            "share_change": _change(_share(mine_records, total), _share(their_records, other_total)),
        }
    exact, other_exact = this["duplicates"]["exact"], other["duplicates"]["exact"]
    return {
        "examples": {"this": total, "other": other_total, "change": total - other_total},
        "shapes": _distribution_rows(this["shapes"], other["shapes"], total, other_total),
        "fields": fields,
        "turns": _summary_change(this.get("turns"), other.get("turns")),
        "languages": _distribution_rows(_values(this["languages"]), _values(other["languages"]), total, other_total),
        "metadata": metadata,
        "artefacts": artefacts,
        "duplicates": {
            "this": exact["extra_copies"],
            "other": other_exact["extra_copies"],
            "change": exact["extra_copies"] - other_exact["extra_copies"],
        },
    }


def coverage(stats: Mapping[str, Any], key: str, targets: Mapping[str, float]) -> dict[str, Any]:
    """How the values of the metadata ``key`` cover ``targets`` (value → target share of the examples): a row
    per target with the count, the actual share and the gap (actual − target), and a row for everything else
    (the other values and the examples without the key) against what the targets leave (1 − their sum).

    A value not among the counted values is 0 when every value was counted; when the distribution was cut (too
    many distinct values), its count is unknown (None)."""
    total = int(stats["examples"])
    distribution = stats["metadata"].get(key) or {"values": [], "other": 0, "approximate": False}
    counts = _values(distribution)
    complete = not distribution.get("other") and not distribution.get("approximate")
    rows: list[dict[str, Any]] = []
    for value, target in targets.items():
        count: int | None = counts.get(value, 0 if complete else None)
        share = _share(count, total) if count is not None else None
        rows.append({"value": value, "target": target, "count": count, "share": share, "gap": _change(share, target)})
    known = [count for row in rows if isinstance(count := row["count"], int)]
    rest_count = total - sum(known) if len(known) == len(rows) else None
    rest_target = round(max(0.0, 1.0 - sum(targets.values())), 4)
    rest_share = _share(rest_count, total) if rest_count is not None else None
    return {
        "key": key,
        "examples": total,
        "rows": rows,
        "rest": {
            "target": rest_target,
            "count": rest_count,
            "share": rest_share,
            "gap": _change(rest_share, rest_target),
        },
        "approximate": bool(distribution.get("approximate")),
    }
