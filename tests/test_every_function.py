"""Every function of the table, differentiated to orders 1-3 through the CLI:
autograd agrees with SymPy, and no function can crash the tool. Parametrized
over the table itself, so a new function is covered when it is added."""

from __future__ import annotations

import pytest

from autodiff.functions import FUNCTIONS
from helpers import invoke_json

# Arguments inside every domain (acosh needs >= 1) and away from every kink
# (integers, 0, ties of min/max, the ends of clamp).
ARGUMENTS = {
    "where": "x > 0, x^3, -x",
    "clamp": "x, 0, 1",
    "log": "x, 3",
    "acosh": "x + 1",
    "min": "x, y, 2",
    "max": "x, y, -2",
}


def call(spec) -> str:
    args = ARGUMENTS.get(spec.name) or ", ".join(["x", "y"][: spec.min_args])
    return f"{spec.name}({args})"


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_every_function_differentiates_and_agrees(spec, order):
    expression = call(spec)
    result, report = invoke_json("grad", expression, "--at", "x=0.7,y=0.4", "--order", str(order))
    assert result.exit_code == 0, report
    assert report["agree"] is True
    for derivative in report["gradient"].values():
        assert derivative["numeric_agree"] is True, (expression, derivative)
        assert derivative["symbolic_value"] is not None
