"""Export: from a dataset version and its labels to the files a trainer loads (see ``curation.formats`` for the
rows, ``curation.chat_templates`` for the templates). ``options`` checks a request, ``labels`` settles each
example's label, ``rows`` reads the version and formats it, ``writers`` writes JSONL and Parquet, ``split`` makes a
leak-free train/eval split, ``manifest`` says how the files were made, and ``service`` runs it all."""
