"""The curation pipeline's runner: from the steps as submitted (``plan``) to chunks any worker may claim
(``chunks``), the records they read (``store``), and the job that merges them into a DatasetVersion (``runner``).
The steps themselves are pure functions in ``curation.steps``."""
