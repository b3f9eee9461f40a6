"""The filter rules that compare records across the whole input: ``conflicting_responses`` (the same prompt
answered differently) and ``shared_response`` (the same answer given to different prompts).

They run in two stages so the input can be split into chunks: ``group_keys`` reduces each chunk's records to
compact numpy keys (stable 64-bit hashes of the normalised prompt and response, lengths), the runner stores and
concatenates them in input order, and ``group_merge`` decides from all of them at once.

Only records with a ``response`` field are compared (instruction and chat records; a preference record's chosen
response and a candidate list are different things). The prompt compared is the system prompt and the prompt,
normalised (``ngrams.normalized_text``). Each rule's ``policy`` says which records of a group go: all of them
(``drop_all``), all but the earliest in input order (``keep_first``), or all but the one with the longest response
(``conflicting_responses``) or prompt (``shared_response``), the earliest on a tie (``keep_longest``). Rules run in
the order given; a record one has dropped is not in the groups of the next.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from curation.steps.base import Dropped, Record
from curation.steps.filter_spec import GROUP, RuleSpec
from curation.steps.ngrams import normalized_text, stable_hash
from curation.steps.options import CHOICE, INT, Option
from curation.steps.records import fields_of

KEYS = ("id", "compared", "prompt", "response", "prompt_chars", "response_chars", "response_words")
POLICIES = ("drop_all", "keep_first", "keep_longest")

Ints = npt.NDArray[np.int64]


def group_keys(records: list[Record]) -> dict[str, np.ndarray]:
    """The keys of ``records``, one aligned array each (see ``KEYS``): ``id`` (int64), ``compared`` (bool: the
    record has a response), ``prompt`` and ``response`` (uint64 hashes of the normalised texts),
    ``prompt_chars``, ``response_chars`` (int64) and ``response_words`` (int64, normalised words)."""
    rows: list[tuple[int, bool, int, int, int, int, int]] = []
    for record in records:
        fields = fields_of(record["content"])
        if "response" not in fields:
            rows.append((record["id"], False, 0, 0, 0, 0, 0))
            continue
        response = normalized_text(fields["response"])
        prompt = normalized_text(fields.get("system", "")) + "\n" + normalized_text(fields["prompt"])
        rows.append(
            (
                record["id"],
                True,
                stable_hash(prompt),
                stable_hash(response),
                len(fields["prompt"]),
                len(fields["response"]),
                response.count(" ") + 1 if response else 0,
            )
        )
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(KEYS)
    types = (np.int64, np.bool_, np.uint64, np.uint64, np.int64, np.int64, np.int64)
    return {name: np.array(column, dtype=kind) for name, column, kind in zip(KEYS, columns, types, strict=True)}


def merge(keys: dict[str, np.ndarray], rules: list[dict[str, Any]]) -> list[Dropped]:
    """The records the group rules drop, in input order."""
    alive = keys["compared"].astype(bool)
    dropped: list[tuple[int, Dropped]] = []
    for rule in rules:
        if rule["name"] == "conflicting_responses":
            found = _resolve(keys, alive, by="prompt", differing="response", longest="response_chars", rule=rule)
        elif rule["name"] == "shared_response":
            eligible = alive & (keys["response_words"] >= rule["min_words"])
            found = _resolve(keys, eligible, by="response", differing="prompt", longest="prompt_chars", rule=rule)
        else:
            continue
        for position, detail in found:
            alive[position] = False
            dropped.append((position, Dropped(int(keys["id"][position]), f"filter.{rule['name']}", detail)))
    return [drop for _, drop in sorted(dropped, key=lambda pair: pair[0])]


def _resolve(
    keys: dict[str, np.ndarray],
    eligible: npt.NDArray[np.bool_],
    *,
    by: str,
    differing: str,
    longest: str,
    rule: dict[str, Any],
) -> list[tuple[int, dict[str, Any]]]:
    """The records to drop among ``eligible``: those in a group (same ``by`` key) whose ``differing`` keys are not
    all equal, but for the one the policy keeps; with each one's detail."""
    positions = np.flatnonzero(eligible)
    if not len(positions):
        return []
    _, group = np.unique(keys[by][positions], return_inverse=True)
    sizes = np.bincount(group)
    distinct = _distinct_per_group(group, keys[differing][positions], len(sizes))
    kept = _kept_per_group(group, keys[longest][positions], rule["policy"], len(sizes))
    in_conflict = distinct[group] > 1
    drop = np.flatnonzero(in_conflict & (kept[group] != np.arange(len(group))))
    size_name, distinct_name = (
        ("prompt_group_size", "distinct_responses") if by == "prompt" else ("response_group_size", "distinct_prompts")
    )
    ids = keys["id"]
    found = []
    for i in drop:
        g = group[i]
        kept_id = int(ids[positions[kept[g]]]) if kept[g] >= 0 else None
        detail = {size_name: int(sizes[g]), distinct_name: int(distinct[g]), "kept": kept_id}
        found.append((int(positions[i]), detail))
    return found


def _distinct_per_group(group: Ints, values: np.ndarray, groups: int) -> Ints:
    """How many distinct values each group holds."""
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    new = np.ones(len(g), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    return np.bincount(g[new], minlength=groups).astype(np.int64)


def _kept_per_group(group: Ints, lengths: Ints, policy: str, groups: int) -> Ints:
    """The index (into the group's records, which are in input order) of the record each group keeps; -1 for none."""
    kept = np.full(groups, -1, dtype=np.int64)
    if policy == "drop_all":
        return kept
    index = np.arange(len(group))
    # by group, then (keep_longest) longest first, then earliest first
    order = np.lexsort((index, -lengths, group)) if policy == "keep_longest" else np.lexsort((index, group))
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    kept[group[order][first]] = order[first]
    return kept


_POLICY = Option(
    "policy",
    CHOICE,
    "which records of a group go: all (drop_all), all but the earliest (keep_first), or all but the longest "
    "(keep_longest)",
    default="drop_all",
    choices=POLICIES,
)

RULES = (
    RuleSpec(
        "conflicting_responses",
        GROUP,
        "Drops records that give the same prompt (with its system prompt, normalised) different responses; "
        "keep_longest keeps the longest response.",
        (_POLICY,),
        reads_text=False,
    ),
    RuleSpec(
        "shared_response",
        GROUP,
        "Drops records that give the same response (normalised, of at least min_words words) to different "
        "prompts; keep_longest keeps the record with the longest prompt.",
        (
            _POLICY,
            Option(
                "min_words",
                INT,
                "responses with fewer words are never compared ('Yes.', 'I don't know.')",
                default=5,
                minimum=1,
            ),
        ),
        reads_text=False,
    ),
)
