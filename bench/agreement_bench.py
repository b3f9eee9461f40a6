"""Agreement benchmark: our Krippendorff kernel against the ``krippendorff`` package, and the agreement API at a
million annotations.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench \\
        .venv/bin/python bench/agreement_bench.py

1. The kernel, on the same ratings in one process: 200,000 items × 5 annotators with 20% of the ratings missing,
   five labels (nominal). Ours takes the long columns the labels layer gives (item, code; sorted by item); the
   package takes its raters × items matrix. Each is timed alone (the median of several runs), the two alphas must
   agree to 1e-9, and the ratio is printed. Goal: ours ≥ 5× faster.
2. A 0–100 slider (101 values, interval) on 200,000 items × 5: our alpha and its bootstrap interval. Goal: ≤ 1 s.
   The package builds a per-item values × values array there (200,000 × 101 × 101 float64 ≈ 16 GB), so it is run
   on the first 2,000 items only, to check that the two agree to 1e-9.
3. The API end to end on PostgreSQL: ``GET …/agreement/`` through Django's full request path (in process, as a
   reviewer with a token) for a project with 1,000,000 annotations (333,334 examples × 3 annotators, built as
   review_bench.py builds its project; two questions, a 1–5 rating and a label of three). Cold (the project's
   labels version moved on and ``?fresh=true``, so the figures are computed in the request), cached, and right
   after a change without ``fresh`` (a slow project's last figures, marked stale, while a job measures again).
   Goals: ≤ 1.5 s cold, ≤ 50 ms cached (p95).

``--keep``/``--reuse PROJECT`` keep and reuse the bench project; otherwise it is deleted (and the tables vacuumed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_setup  # noqa: E402 - the bench folder is not a package

ITEMS = 200_000
RATERS = 5
MISSING = 0.2
KERNEL_GOAL = 5.0
SLIDER_GOAL_S = 1.0
COLD_GOAL_S = 1.5
CACHED_GOAL_MS = 50.0
API_EXAMPLES = 333_334  # × 3 annotators ≈ 1,000,000 annotations


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=ITEMS, help="items in the kernel cases (default 200,000)")
    parser.add_argument("--examples", type=int, default=API_EXAMPLES, help="examples of the API project")
    parser.add_argument("--reuse", type=int, metavar="PROJECT", help="reuse a project kept by --keep")
    parser.add_argument("--keep", action="store_true", help="keep the bench project for another run")
    parser.add_argument("--skip-api", action="store_true", help="only the kernel cases (no database needed)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def median_time(function: Callable[[], Any], runs: int) -> tuple[float, Any]:
    function()  # warm-up
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def ratings(rng: np.random.Generator, items: int, values: int) -> np.ndarray:
    """Raters × items with NaN for missing; raters mostly agree on a per-item truth, as real annotators do."""
    truth = rng.integers(0, values, size=items)
    data = rng.integers(0, values, size=(RATERS, items)).astype(np.float64)
    agree = rng.random(data.shape) < 0.6
    data[agree] = np.broadcast_to(truth, data.shape)[agree]
    data[rng.random(data.shape) < MISSING] = np.nan
    return data


def long_columns(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(item, code) rows sorted by item, as the labels layer gives them."""
    item, rater = np.nonzero(~np.isnan(data.T))
    return item.astype(np.int64), data.T[item, rater].astype(np.int64)


def kernel_cases(args: argparse.Namespace) -> bool:
    import krippendorff

    from annotate.quality.alpha import alpha_interval, krippendorff_alpha, pairable

    rng = np.random.default_rng(args.seed)
    passed = True

    data = ratings(rng, args.items, 5)
    item, code = long_columns(data)

    def ours() -> float | None:
        return krippendorff_alpha(pairable(item, code, 5), "nominal").value

    def package() -> float:
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))

    our_seconds, our_alpha = median_time(ours, 9)
    package_seconds, package_alpha = median_time(package, 5)
    difference = abs(our_alpha - package_alpha)
    ratio = package_seconds / our_seconds
    ok = ratio >= KERNEL_GOAL and difference <= 1e-9
    passed &= ok
    print(f"five labels, {args.items:,} items × {RATERS} ({int(MISSING * 100)}% missing), nominal:")
    print(f"  ours {our_seconds * 1000:.1f} ms, package {package_seconds * 1000:.1f} ms: {ratio:.1f}× faster")
    print(f"  alpha {our_alpha:.12f} vs {package_alpha:.12f} (|difference| {difference:.1e})")
    print(f"  goal ≥ {KERNEL_GOAL:.0f}× and equal to 1e-9: {'PASS' if ok else 'FAIL'}")

    slider = ratings(rng, args.items, 101)
    item, code = long_columns(slider)
    values = np.arange(101, dtype=np.float64)

    def slider_alpha() -> Any:
        counts = pairable(item, code, 101)
        return counts, krippendorff_alpha(counts, "interval", values)

    alpha_seconds, (counts, alpha) = median_time(slider_alpha, 5)
    interval_seconds, interval = median_time(lambda: alpha_interval(counts, alpha), 3)
    head = slider[:, :2000]
    head_item, head_code = long_columns(head)
    head_ours = krippendorff_alpha(pairable(head_item, head_code, 101), "interval", values).value
    head_package = float(
        krippendorff.alpha(reliability_data=head, level_of_measurement="interval", value_domain=values)
    )
    ok = alpha_seconds <= SLIDER_GOAL_S and abs(head_ours - head_package) <= 1e-9
    passed &= ok
    print(f"0–100 slider, {args.items:,} items × {RATERS}, interval:")
    print(f"  alpha {alpha.value:.6f} in {alpha_seconds * 1000:.0f} ms; bootstrap interval "
          f"[{interval.low:.6f}, {interval.high:.6f}] ({interval.resamples} resamples) in "
          f"{interval_seconds * 1000:.0f} ms")  # fmt: skip
    print(f"  first 2,000 items: ours {head_ours:.12f} vs package {head_package:.12f}")
    print(f"  goal alpha ≤ {SLIDER_GOAL_S:.0f} s and equal to 1e-9: {'PASS' if ok else 'FAIL'}")
    return passed


def api_case(args: argparse.Namespace) -> bool:
    import review_bench
    from rest_framework.test import APIClient

    import config.wsgi  # noqa: F401 - as gunicorn starts: the URL configuration and every view imported
    from annotate import figures as figures_cache
    from annotate.models import Project

    if args.reuse:
        project = Project.objects.get(pk=args.reuse)
    else:
        print(f"building a project of {args.examples:,} examples × 3 annotations …", file=sys.stderr)
        project = review_bench.build(args.examples)
    try:
        _, token, _ = review_bench.reviewer(project)
        client = APIClient(HTTP_HOST="127.0.0.1")  # a host the settings allow
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        url = f"/api/v1/projects/{project.pk}/agreement/"

        def get(query: str = "") -> dict[str, Any]:
            response = client.get(url + query)
            assert response.status_code == 200, response.content[:500]
            return response.json()

        # Cold: the labels version moved on and ?fresh=true, so the figures are computed in the request.
        cold = []
        for _ in range(3):
            figures_cache._bump(project.pk)
            began = time.perf_counter()
            figures = get("?fresh=true")
            cold.append(time.perf_counter() - began)
        # After a change without ?fresh: a slow project's last figures come back marked stale (a job measures).
        figures_cache._bump(project.pk)
        began = time.perf_counter()
        stale = get()
        stale_ms = (time.perf_counter() - began) * 1000
        get("?fresh=true")
        cached = []
        for _ in range(30):
            began = time.perf_counter()
            get()
            cached.append((time.perf_counter() - began) * 1000)
        cached.sort()
        ratings_count = sum(question["ratings"] for question in figures["questions"].values())
        cold_s, cached_p95 = statistics.median(cold), cached[int(0.95 * (len(cached) - 1))]
        ok = cold_s <= COLD_GOAL_S and cached_p95 <= CACHED_GOAL_MS
        print(f"agreement API, {ratings_count // 2:,} annotations (two questions each) on PostgreSQL:")
        print(
            f"  cold (computed in the request) {', '.join(f'{s:.2f}' for s in cold)} s, median {cold_s:.2f} s "
            f"({figures['seconds']:.2f} s computing, the rest reading and answering)"
        )
        print(f"  cached p50 {cached[len(cached) // 2]:.1f} ms, p95 {cached_p95:.1f} ms; after a change without "
              f"?fresh: {stale_ms:.0f} ms (stale: {stale.get('stale', False)}, a job measures again)")  # fmt: skip
        quality = figures["questions"]["quality"]
        print(f"  quality: alpha {quality['krippendorff_alpha']:.4f} {quality['alpha_interval']}, "
              f"{len(quality['cohen_kappa'])} annotator pairs")  # fmt: skip
        print(f"  goal cold ≤ {COLD_GOAL_S} s, cached p95 ≤ {CACHED_GOAL_MS:.0f} ms: {'PASS' if ok else 'FAIL'}")
        return ok
    finally:
        if args.keep:
            print(f"kept project {project.pk} (--reuse {project.pk})", file=sys.stderr)
        else:
            review_bench.delete(project)


def main() -> int:
    args = parse_args()
    if args.skip_api:
        sys.path.insert(0, str(ROOT))
        passed = kernel_cases(args)
    else:
        os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")  # the API is called in process, as 127.0.0.1
        if not bench_setup.django_on_postgres("agreement_bench", ""):
            return 2
        passed = kernel_cases(args)
        passed &= api_case(args)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
