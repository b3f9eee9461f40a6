"""The curation pages: importing data and following jobs (``jobs``), making dataset versions (``builder``), and
reading them, with what they removed and changed (``versions``)."""
