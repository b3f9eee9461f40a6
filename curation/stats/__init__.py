"""Inspection statistics of a dataset version or a whole project: pure computation, no Django import.

- ``figures``: the streaming accumulator (``StatsAccumulator``) and duplicate clusters from removals;
- ``series``: the bounded accumulators it is built from (histograms with exact quantiles, capped counters,
  reservoir samples);
- ``text``: what is measured in one piece of text (token estimate, artefacts, language, openers, verb–object);
- ``compare``: what two finished statistics differ by, and coverage of target shares.
"""

from curation.stats.compare import compare, coverage
from curation.stats.figures import StatsAccumulator, removal_clusters

__all__ = ["StatsAccumulator", "compare", "coverage", "removal_clusters"]
