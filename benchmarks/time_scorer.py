"""The cost of one in-loop evaluation: `python benchmarks/time_scorer.py --workdir=RUN` draws
`--num_samples` samples of RUN's sampling G from the in-loop evaluation's latents and scores them
with `jaxgan.quality`'s scorer, `--repeats` times; prints each time and the median (the first
includes compilation). BENCHMARKS.md, "In-loop evaluation"."""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan import quality  # noqa: E402
from jaxgan.run import Run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--num_samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--data_dir", default=None, help="MNIST IDX directory (default: the "
                        "run's own, else $JAXGAN_DATA_DIR)")
    args = parser.parse_args()
    run = Run.open(args.workdir)
    config = run.config.copy_and_resolve_references()
    config.data_dir = args.data_dir or config.data_dir
    scorer = quality.evaluator(config)
    key = jax.random.fold_in(jax.random.PRNGKey(run.config.seed), 0xE7A1)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        z, _ = run.sample_prior(key, args.num_samples)
        metrics = scorer(np.asarray(run.generate(z)))
        seconds.append(time.perf_counter() - start)
    print("seconds per evaluation:", " ".join(f"{s:.3f}" for s in seconds),
          f"(median {statistics.median(seconds):.3f})")
    print("last:", {k: round(v, 4) for k, v in metrics.items()})


if __name__ == "__main__":
    main()
