"""The quality dashboard's figures shaped for its charts, tables and CSV files (views/quality.py serves them)."""

from __future__ import annotations

from typing import Any

import orjson

# Kappa and alpha on the heat map, in tenths from −1 to 1 (a CSS class each, as the page may carry no inline style).
HEAT_STEPS = 20


def heat(kappa: float | None) -> str:
    if kappa is None:
        return "heat heat--none"
    step = max(0, min(HEAT_STEPS, round((kappa + 1) / 2 * HEAT_STEPS)))
    return f"heat heat--{step}"


def kappa_grid(figures: dict[str, Any]) -> dict[str, Any]:
    """The pairwise kappas of one question as a square table of annotators."""
    pairs = figures.get("cohen_kappa") or []
    names = sorted({name for pair in pairs for name in pair["annotators"]})
    by_pair = {tuple(pair["annotators"]): pair for pair in pairs}
    rows = []
    for first in names:
        cells = []
        for second in names:
            pair = by_pair.get((first, second)) or by_pair.get((second, first))
            kappa = pair["kappa"] if pair else None
            cells.append({"kappa": kappa, "items": pair["items"] if pair else 0, "css": heat(kappa)})
        rows.append({"name": first, "cells": cells})
    return {"names": names, "rows": rows}


def distributions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each annotator's shares of each answer, after everyone's together (the bar the others are read against)."""
    with_shares = [row for row in rows if row.get("label_distribution")]
    if not with_shares:
        return []
    totals: dict[str, float] = {}
    for row in with_shares:
        for answer, share in row["label_distribution"].items():
            totals[answer] = totals.get(answer, 0.0) + share * row["annotations"]
    everyone = sum(totals.values()) or 1.0
    return [{"annotator": "(everyone)", "shares": {answer: count / everyone for answer, count in totals.items()}}] + [
        {"annotator": row["annotator"], "shares": row["label_distribution"]} for row in with_shares
    ]


def annotator_charts(section: dict[str, Any] | None) -> dict[str, Any]:
    if section is None:
        return {}
    report = section["report"]
    rows = report["annotators"]
    return {
        "offsets": [
            {"annotator": row["annotator"], "offset": row["adjusted_offset"], "interval": row["adjusted_offset_ci"]}
            for row in rows
            if row.get("adjusted_offset") is not None
        ],
        "distributions": distributions(rows),
        "fatigue": [
            {"annotator": entry["annotator"], "curve": entry["agreement"]["curve"]}
            for entry in report["fatigue"]
            if len(entry["agreement"]["curve"]) > 1
        ],
        "positions": [
            {"annotator": row["annotator"], "left_share": row["left_share"], "sided": row["sided"]}
            for row in rows
            if row.get("left_share") is not None
        ],
    }


CSV_COLUMNS = {
    "agreement": [
        "question",
        "level",
        "items",
        "items_used",
        "annotators",
        "ratings",
        "krippendorff_alpha",
        "alpha_low",
        "alpha_high",
        "percent_agreement",
        "unanimous_share",
        "fleiss_kappa",
        "gwet_ac1",
        "kendall_w",
        "exact_match_rate",
        "mean_similarity",
    ],
    "versions": ["question", "guideline_version", "items_used", "krippendorff_alpha", "alpha_low", "alpha_high"],
    "kappas": ["question", "annotator", "other_annotator", "items", "kappa"],
    "annotators": [
        "question",
        "annotator",
        "slice",
        "annotations",
        "agreement_with_others",
        "majority_agreement",
        "kappa_vs_majority",
        "mean",
        "offset",
        "adjusted_offset",
        "spread_ratio",
        "jsd",
        "median_duration_ms",
        "fast_share",
        "length_ratio",
        "left_share",
        "sided",
        "adjusted_offset_low",
        "adjusted_offset_high",
        "label_distribution",
    ],
    "flags": ["question", "annotator", "slice", "kind", "p", "test", "figures"],
    "fatigue": ["question", "annotator", "sessions", "position_from", "agreement", "labels"],
}


def agreement_row(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    interval = figures.get("alpha_interval") or [None, None]
    return {"question": name, **figures, "alpha_low": interval[0], "alpha_high": interval[1]}


def annotator_rows(table: str, section: dict[str, Any] | None) -> list[dict[str, Any]]:
    if section is None:
        return []
    question, report = section["question"].name, section["report"]
    if table == "annotators":
        return [
            {"question": question}
            | row
            | {
                "adjusted_offset_low": (row.get("adjusted_offset_ci") or [None, None])[0],
                "adjusted_offset_high": (row.get("adjusted_offset_ci") or [None, None])[1],
                "label_distribution": orjson.dumps(row.get("label_distribution")).decode(),
            }
            for row in report["annotators"]
        ]
    if table == "flags":
        return [
            {"question": question, "p": flag["detail"].get("p"), "test": flag["detail"].get("test")}
            | flag
            | {"figures": "; ".join(f"{key}={value}" for key, value in flag["figures"])}
            for flag in report["flags"]
        ]
    return [
        {"question": question, "annotator": entry["annotator"], "sessions": entry["sessions"]}
        | {"position_from": point[0], "agreement": point[1], "labels": point[2]}
        for entry in report["fatigue"]
        for point in entry["agreement"]["curve"]
    ]


def cell(value: Any) -> Any:
    """A value a spreadsheet will not run as a formula (a name such as "=cmd()" or "+1" is quoted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
