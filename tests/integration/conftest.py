"""The worker fixtures of test_worker.py, for every integration test module."""

from tests.integration.test_worker import own_queue, start_worker, worker  # noqa: F401
