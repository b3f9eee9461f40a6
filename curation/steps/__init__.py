"""The pipeline's steps: pure functions over batches of records, with no Django import, so any worker can run
them and tests can call them directly.

A record is a plain dict ``{"id": int, "content": dict, "metadata": dict}``; ``content`` is one of the canonical
shapes of ``annotate.shapes`` (text, instruction, chat, candidates, preference). A batch is a list of records in
input order. ``records.py`` says what the text "fields" of each shape are; ``base.py`` says what a step returns.

Two kinds of step (see ``base.py``):

* a *record step* decides about each record alone (clean, pii, most filters, decontaminate): the runner applies it
  to chunks of the input in parallel;
* a *group step* needs the whole input (dedup, the filter rules that compare records): each chunk computes compact
  keys for its records (hashes, MinHash band hashes, lengths) and the runner merges the keys of every chunk to
  decide what to drop.
"""
