"""Is an annotator consistent with themselves? Two checks, pure numpy (loops only over what they report).

- The same prompt, answered differently: examples whose prompts are the same (the caller gives each label a
  prompt key, e.g. a hash of the normalised prompt; for a preference question the key should cover the responses
  compared too, or different responses to one prompt would count as the same question) labelled with different
  answers by the same annotator.
- Circular preferences: among one annotator's preferences between the responses of one prompt, a response both
  better and worse than another (A > B on one example, B > A on another) or a cycle of three (A > B, B > C,
  C > A). Ties say neither is better and take part in no cycle. Longer cycles without a shorter one inside them
  need four responses compared in a ring and are not looked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from annotate.questions import PREFERENCE_SCALE

Ints = npt.NDArray[np.int64]
A_BETTER, B_BETTER = PREFERENCE_SCALE["a"], PREFERENCE_SCALE["b"]


@dataclass(frozen=True)
class Inconsistency:
    """An annotator who answered examples with the same prompt differently: ``answers[i]`` (an answer code) is
    what they answered on ``examples[i]``, ascending by example."""

    annotator: int
    prompt: int
    examples: list[int]
    answers: list[int]


@dataclass(frozen=True)
class Cycle:
    """Circular preferences of one annotator among the responses of one prompt. ``responses`` [A, B, C] means
    A > B, B > C and C > A; [A, B] means A > B and B > A. ``examples[i]`` is the example (the first, if several)
    on which the i-th of those preferences was given."""

    annotator: int
    prompt: int
    responses: list[int]
    examples: list[int]


def inconsistent_answers(*, example: Ints, annotator: Ints, code: Ints, prompt: Ints) -> list[Inconsistency]:
    """Every (annotator, prompt) with more than one distinct answer, ascending by annotator and prompt. Rows
    with a negative prompt key (unknown) are left out."""
    known = np.flatnonzero(prompt >= 0)
    if len(known) == 0:
        return []
    order = known[np.lexsort((example[known], prompt[known], annotator[known]))]
    by_annotator, by_prompt, codes = annotator[order], prompt[order], code[order]
    new = np.r_[True, (by_annotator[1:] != by_annotator[:-1]) | (by_prompt[1:] != by_prompt[:-1])]
    starts = np.flatnonzero(new)
    stops = np.r_[starts[1:], len(order)]
    differing = np.minimum.reduceat(codes, starts) != np.maximum.reduceat(codes, starts)
    return [
        Inconsistency(
            annotator=int(by_annotator[start]),
            prompt=int(by_prompt[start]),
            examples=[int(value) for value in example[order[start:stop]]],
            answers=[int(value) for value in codes[start:stop]],
        )
        for start, stop in zip(starts[differing], stops[differing], strict=True)
    ]


def preference_cycles(
    *, example: Ints, annotator: Ints, prompt: Ints, response_a: Ints, response_b: Ints, answer: Ints
) -> list[Cycle]:
    """The circular preferences of every annotator on every prompt, ascending by annotator, prompt and length of
    the cycle. Per preference label: its example, the prompt key, the identities of the two responses compared in
    a/b order, and the answer as annotate.questions.PREFERENCE_SCALE numbers it (a better, tie, b better)."""
    decided = np.flatnonzero((answer == A_BETTER) | (answer == B_BETTER))
    decided = decided[np.argsort(example[decided], kind="stable")]  # so that "the first example" is the lowest id
    a_wins = answer[decided] == A_BETTER
    winner = np.where(a_wins, response_a[decided], response_b[decided])
    loser = np.where(a_wins, response_b[decided], response_a[decided])
    # A judge is one annotator on one prompt; a node is one response in the eyes of one judge.
    annotators, annotator_index = np.unique(annotator[decided], return_inverse=True)
    prompts, prompt_index = np.unique(prompt[decided], return_inverse=True)
    judges, judge = np.unique(annotator_index * len(prompts) + prompt_index, return_inverse=True)
    responses, response_index = np.unique(np.r_[winner, loser], return_inverse=True)
    nodes, node = np.unique(np.r_[judge, judge] * len(responses) + response_index, return_inverse=True)
    graph = _Graph(
        nodes=len(nodes),
        edges=node[: len(decided)] * len(nodes) + node[len(decided) :],
        example=example[decided],
    )

    def cycle(path: list[int], examples: list[int]) -> Cycle:
        judge_id = int(judges[nodes[path[0]] // len(responses)])
        return Cycle(
            annotator=int(annotators[judge_id // len(prompts)]),
            prompt=int(prompts[judge_id % len(prompts)]),
            responses=[int(responses[nodes[step] % len(responses)]) for step in path],
            examples=examples,
        )

    cycles = [cycle(path, examples) for path, examples in graph.cycles()]
    return sorted(cycles, key=lambda found: (found.annotator, found.prompt, len(found.responses), found.responses))


class _Graph:
    """Directed edges winner → loser between nodes 0..nodes-1, each kept once with its first example (edges
    come in ascending order of example)."""

    def __init__(self, *, nodes: int, edges: Ints, example: Ints) -> None:
        self.nodes = nodes
        self.key, first = np.unique(edges, return_index=True)  # sorted by source, then target
        self.source, self.target = self.key // nodes, self.key % nodes
        self.example = example[first]

    def find(self, source: Ints, target: Ints) -> Ints:
        """The index of each edge source → target, -1 where there is none."""
        wanted = source * self.nodes + target
        at = np.minimum(np.searchsorted(self.key, wanted), len(self.key) - 1)
        return np.where(self.key[at] == wanted, at, -1)

    def cycles(self) -> list[tuple[list[int], list[int]]]:
        """Cycles of two and three nodes, each once: (nodes in cycle order from the lowest, the examples of
        the edges in the same order)."""
        found: list[tuple[list[int], list[int]]] = []
        if len(self.key) == 0:
            return found
        back = self.find(self.target, self.source)
        for edge in np.flatnonzero((back >= 0) & (self.source < self.target)):
            pair = [int(self.source[edge]), int(self.target[edge])]
            found.append((pair, [int(self.example[edge]), int(self.example[back[edge]])]))
        # Paths x → y → z: every edge followed by every edge leaving its target.
        low = np.searchsorted(self.key, self.target * self.nodes)
        high = np.searchsorted(self.key, (self.target + 1) * self.nodes)
        first = np.repeat(np.arange(len(self.key)), high - low)
        offsets = np.cumsum(high - low) - (high - low)
        second = low[first] + np.arange(len(first)) - offsets[first]
        x, y, z = self.source[first], self.target[first], self.target[second]
        closing = self.find(z, x)
        # Each three-cycle is found from each of its nodes: keep it once, from its lowest node.
        keep = np.flatnonzero((closing >= 0) & (z != x) & (x < y) & (x < z))
        for one in keep:
            path = [int(x[one]), int(y[one]), int(z[one])]
            edges = (first[one], second[one], closing[one])
            found.append((path, [int(self.example[edge]) for edge in edges]))
        return found
