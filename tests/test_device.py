"""--device: autograd on an accelerator, the witnesses on the CPU.

On a machine without a GPU, `auto` is the CPU and `cuda`/`mps` are usage
errors; where torch sees CUDA, the same answers come from the GPU (these
tests then run there too).
"""

from __future__ import annotations

import math

import pytest
import torch

from helpers import invoke, invoke_json

CUDA = torch.cuda.is_available()

COMMANDS = [
    ["grad", "sin(x)*exp(y) + x^3*y", "--at", "x=[0.5,1.5,-2],y=[1,2,3]"],
    ["grad", "tanh(x)^2", "--at", "x=0.3", "--order", "3"],
    ["grad", "exp(sin(x))*y", "--at", "x=[0.1,0.5,0.9],y=[1,2,3]", "--order", "12"],  # Taylor mode
    ["taylor", "x/(1-x-x^2) + sech(y)", "--at", "x=0,y=0.5", "--order", "6"],
    ["partial", "x^2*y^3 + cos(x*y)", "--wrt", "x,y", "--at", "x=0.7,y=-1.2"],
    ["hessian", "x^2*y + y^3 + exp(x*y)", "--at", "x=[1,0.5],y=[2,-1]"],
    ["jacobian", "[x*y, sin(x) + y^2]", "--at", "x=1,y=2"],
]


def _autograd_numbers(data: dict) -> list[float]:
    found: list[float] = []

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key in ("autograd", "coefficient") and isinstance(value, float):
            found.append(value)

    walk(data)
    return found


@pytest.mark.parametrize("device", ["auto", "cpu"] + (["cuda"] if CUDA else []))
@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_the_device_gives_the_same_answers(args, device):
    _, plain = invoke_json(*args)
    result, moved = invoke_json(*args, "--device", device)
    assert result.exit_code == 0 and moved["agree"] is True
    ours, theirs = _autograd_numbers(moved), _autograd_numbers(plain)
    assert ours and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (a, b)


def test_plot_on_the_device_draws_the_same_curves():
    _, plain = invoke_json("plot", "sin(x)*x", "--order", "2")
    result, moved = invoke_json("plot", "sin(x)*x", "--order", "2", "--device", "auto")
    assert result.exit_code == 0
    for a, b in zip(moved["derivatives"], plain["derivatives"]):
        assert all(math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12) for u, v in zip(a["autograd"], b["autograd"]))


def test_a_million_point_grid_with_device_auto():
    result, data = invoke_json("grad", "x^2", "--at", "x=0:1:1000001", "--device", "auto")
    assert result.exit_code == 0 and data["agree"] is True
    assert data["gradient"]["x"]["autograd"][-1] == 2.0 and len(data["gradient"]["x"]["autograd"]) == 1000001


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_usage_error():
    result = invoke("grad", "x^2", "--at", "x=3", "--device", "cuda")
    assert result.exit_code == 2
    assert "torch sees no CUDA device here; use --device auto" in result.stderr


def test_an_unknown_device_is_a_usage_error():
    result = invoke("grad", "x^2", "--at", "x=3", "--device", "tpu")
    assert result.exit_code == 2
