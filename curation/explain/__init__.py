"""Explaining a dataset version to the people who read it: its steps and removals in words, and the differences
between two texts (a duplicate and the example it duplicates, content before and after cleaning). Pure: no Django,
so the pages and their tests share one reading of each detail."""
