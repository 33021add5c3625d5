"""One side of the grid benchmark (design §8: a grid of 10^7 points within
1.2x the time and memory of the same function by hand in eager torch).

Sides:
  ours          api.grad on the grid with OURS_OPTIONS (symbolic off: the
                autograd work the target is about)
  ours-default  api.grad with the default options (symbolic on; informational)
  hand          the function written in eager torch, torch.autograd.grad

Each side runs in its own process so that neither inherits the other's
allocations. After the imports, one warm-up at 10^4 points, then up to
`--runs` timed runs (median reported by the runner); peak memory (peak RSS
minus RSS before) comes from the first timed run. Prints one JSON line:
{"side", "points", "times_s", "peak_bytes", "memory_method", "checksum"}.
The checksums (sums of f and f' over the grid) let the runner confirm that
both sides computed the same thing.

    python grid_worker.py --side ours --points 10000000 --runs 3 --budget 60
"""

from __future__ import annotations

import argparse
import json
import math
import warnings

import measure
import workloads

# The keyword arguments of our side: one constant, easy to change.
OURS_OPTIONS = {"symbolic": False}
DEFAULT_OPTIONS: dict = {}
WARMUP_POINTS = 10**4


def ours(options: dict):
    from autodiff.commands import api

    def work(points: int):
        return api.grad(workloads.GRID_EXPRESSION, at={"x": workloads.grid_text(points)}, **options)

    def checksum(result) -> list[float]:
        return [_total(result.value), _total(result.gradient["x"].autograd)]

    return work, checksum


def hand(device: str = "cpu"):
    import torch

    def work(points: int):
        x = torch.linspace(
            workloads.GRID_START, workloads.GRID_STOP, points, dtype=torch.float64, requires_grad=True, device=device
        )
        y = torch.sin(x) * x**2 + torch.exp(-(x**2) / 2)
        (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
        return y.detach(), g

    def checksum(result) -> list[float]:
        return [_total(part) for part in result]

    if device != "cpu":  # the GPU works asynchronously: a run ends when its results are back
        def synchronized(points: int):
            result = work_on_device(points)
            torch.cuda.synchronize()
            return result

        work_on_device, work = work, synchronized
    return work, checksum


def _total(values) -> float:
    """The sum of a tensor or of a list of floats (whichever the API returns)."""
    if hasattr(values, "dtype") and hasattr(values, "sum"):
        return float(values.sum())
    return math.fsum(values)


SIDES = {
    "ours": lambda: ours(OURS_OPTIONS),
    "ours-default": lambda: ours(DEFAULT_OPTIONS),
    "hand": hand,
    # The GPU row (only where torch sees CUDA): autograd on the device, the witnesses' sample on the CPU.
    "ours-cuda": lambda: ours({**OURS_OPTIONS, "device": "cuda"}),
    "hand-cuda": lambda: hand("cuda"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=sorted(SIDES), required=True)
    parser.add_argument("--points", type=int, default=10**7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget", type=float, default=float("inf"), help="stop timed runs after this many seconds")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

    work, checksum = SIDES[args.side]()
    work(min(WARMUP_POINTS, args.points))
    sums: list[float] = []
    figures = measure.timed_runs(
        lambda: work(args.points), args.runs, args.budget, inspect_first=lambda result: sums.extend(checksum(result))
    )
    print(json.dumps({"side": args.side, "points": args.points, **figures, "checksum": sums}))


if __name__ == "__main__":
    main()
