"""`autodiff minimize`: optimisers side by side, against analytic oracles.

The oracles are known minima worked by hand: 2x² + 3x + 1 has its minimum at
x = −3/4 (f′ = 4x + 3), f = −1/8; Rosenbrock's (1 − x)² + 100(y − x²)² at
(1, 1), f = 0; x² − y² a saddle at the origin; sin's maximum at π/2.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import autodiff
from autodiff.commands import minimize as optimizers
from autodiff.commands import optimizers as loop
from helpers import invoke, strict_loads

README = (Path(__file__).parent.parent / "README.md").read_text()
TUTORIAL = "2*x^2+3*x+1"


@pytest.fixture
def pinned_clock(monkeypatch):
    """Every run takes 1.9 ms: the clock advances that much at each reading."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(loop, "_clock", lambda: next(ticks) * 0.0019)


# --- the tutorial's function, every optimiser --------------------------------

# A learning rate at which each one reaches ‖∇f‖ ≤ 1e-8 well within 1000 steps.
RATES = {"gd": 0.1, "sgd": 0.1, "momentum": 0.01, "nesterov": 0.1, "adam": 0.5, "rmsprop": 0.5, "adagrad": 1.0,
         "lbfgs": 1.0, "newton": 1.0}


@pytest.mark.parametrize("name", list(RATES))
def test_every_optimizer_finds_the_tutorials_minimum(name):
    result = autodiff.minimize(TUTORIAL, {"x": 3}, optimizer=name, lr=RATES[name])
    (run,) = result.runs
    assert run.status == "converged", run.message
    assert run.point["x"] == pytest.approx(-0.75, abs=1e-8)
    assert run.value == pytest.approx(-0.125, abs=1e-12)
    assert run.gradient_norm <= 1e-8
    assert run.kind == "local minimum"
    assert run.steps_to_tolerance == run.steps
    assert result.critical_points[0].exact == {"x": "-3/4"}
    assert result.critical_points[0].value_exact == "-1/8"
    assert run.critical_point == 0 and result.critical_points[0].reached_by == [name]
    assert result.exit_code == 0


def test_adamw_weight_decay_keeps_it_near_but_off_the_minimum():
    # AdamW's decoupled weight decay (0.01) pulls towards 0: ∇f never reaches 1e-8.
    (run,) = autodiff.minimize(TUTORIAL, {"x": 3}, optimizer="adamw", lr=0.5).runs
    assert run.status == "stalled"
    assert run.point["x"] == pytest.approx(-0.75, abs=1e-2) and run.point["x"] != pytest.approx(-0.75, abs=1e-6)


def test_the_done_means_tutorial_example_on_the_command_line():
    result = invoke("minimize", TUTORIAL, "--from", "x=3", "--optimizer", "gd", "--lr", "0.1", "--steps", "100")
    assert result.exit_code == 0
    out = result.stdout
    row = next(line for line in out.splitlines() if line.startswith("gd "))
    assert row.split()[2:4] == ["-0.75", "-0.125"]
    assert "local minimum" in out and "-3/4" in out


def test_the_tutorial_table_exactly(pinned_clock):
    result = invoke("minimize", TUTORIAL, "--from", "x=3", "--optimizer", "gd", "--lr", "0.1", "--steps", "100")
    assert result.stdout == (
        "f(x) = 2*x^2 + 3*x + 1\n"
        "minimize from x = 3: at most 100 steps, until ‖∇f‖ ≤ 1e-08\n"
        "optimizer    lr       x        f       ‖∇f‖   steps   status      time  \n"
        "────────────────────────────────────────────────────────────────────────\n"
        "gd          0.1   -0.75   -0.125   7.22e-09      42   converged   1.9 ms\n"
        "critical points: the one real solution of ∇f = 0 (lex Gröbner basis, exact real-root isolation)\n"
        "           x               f   kind            reached by\n"
        "─────────────────────────────────────────────────────────\n"
        "-3/4 = -0.75   -1/8 = -0.125   local minimum   gd        \n"
        "✓ gd converged in 42 steps to x = -0.75: the local minimum x = -3/4\n"
    )
    assert result.stderr == ""


def test_the_divergence_table_exactly(pinned_clock):
    result = invoke("minimize", "x^2", "--from", "x=1", "--optimizer", "sgd", "--lr", "1.5")
    assert result.exit_code == 1
    assert result.stdout == (
        "f(x) = x^2\n"
        "minimize from x = 1: at most 1000 steps, until ‖∇f‖ ≤ 1e-08\n"
        "optimizer    lr       x         f      ‖∇f‖   steps   status     time  \n"
        "───────────────────────────────────────────────────────────────────────\n"
        "sgd         1.5   -2048   4194304   4.1e+03      11   diverged   1.9 ms\n"
        "critical points: the one real solution of ∇f = 0 (lex Gröbner basis, exact real-root isolation)\n"
        "x   f   kind            reached by\n"
        "──────────────────────────────────\n"
        "0   0   local minimum   —         \n"
        "✗ sgd diverged at step 11: f grew from 1 to 4194304; try a smaller --lr (e.g. --lr 0.15)\n"
    )


def _masked(text: str) -> list[str]:
    """Lines with the time column (the last) and the rules' lengths taken out."""
    lines = []
    for line in text.rstrip("\n").splitlines():
        line = re.sub(r"\d+(\.\d+)? (ms|µs|s)\s*$", "TIME", line.rstrip())
        lines.append("─" if set(line) == {"─"} else line)
    return lines


def readme_minimize_examples():
    blocks = re.findall(r"```text\n\$ (autodiff minimize .*?)```", README, re.S)
    return [(block.split("\n", 1)[0], block.split("\n", 1)[1]) for block in blocks]


@pytest.mark.parametrize(("command", "output"), readme_minimize_examples(), ids=lambda v: v[:50])
def test_the_readme_examples_print_what_the_readme_shows(command, output, pinned_clock):
    import shlex

    result = invoke(*shlex.split(command)[1:])
    assert _masked(result.stdout) == _masked(output)


def test_the_readme_has_the_five_examples():
    assert len(readme_minimize_examples()) == 5


# --- Rosenbrock, saddles, no minimum, maximize, kinks --------------------------


def test_rosenbrock_adam_beside_lbfgs():
    result = invoke("minimize", "(1-x)^2 + 100*(y-x^2)^2", "--from", "x=-1.2,y=1", "--optimizer", "adam,lbfgs",
                    "--steps", "5000", "--json")
    payload = strict_loads(result.stdout)
    adam, lbfgs = payload["optimizers"]
    assert [adam["optimizer"], lbfgs["optimizer"]] == ["adam", "lbfgs"]
    assert lbfgs["status"] == "converged"
    assert lbfgs["point"]["x"] == pytest.approx(1, abs=1e-7) and lbfgs["point"]["y"] == pytest.approx(1, abs=1e-7)
    assert lbfgs["value"] == pytest.approx(0, abs=1e-12) and lbfgs["kind"] == "local minimum"
    assert adam["status"] == "stalled" and adam["steps"] == 5000  # its default lr 0.01 is slow in the valley
    assert adam["point"]["x"] == pytest.approx(1, abs=1e-3)
    assert payload["critical_points"]["points"][0]["point"] == {"x": "1", "y": "1"}
    assert payload["critical_points"]["points"][0]["reached_by"] == ["adam", "lbfgs"]
    assert result.exit_code == 1  # adam did not converge


def test_rosenbrock_table_has_a_row_for_each():
    result = invoke("minimize", "(1-x)^2 + 100*(y-x^2)^2", "--from", "x=-1.2,y=1", "--optimizer", "lbfgs",
                    "--optimizer", "newton")
    rows = [line.split()[0] for line in result.stdout.splitlines() if line.split()[:1] in (["lbfgs"], ["newton"])]
    assert rows == ["lbfgs", "newton"]
    assert "✓ lbfgs converged" in result.stdout and "✓ newton converged" in result.stdout


def test_a_start_on_the_saddles_stable_manifold_converges_to_the_saddle():
    # On y = 0 the gradient of x² − y² has no y component: descent slides into the saddle.
    result = autodiff.minimize("x^2 - y^2", {"x": 1, "y": 0}, optimizer="gd,newton", lr=0.1)
    for run in result.runs:
        assert run.status == "converged"
        assert run.point["x"] == pytest.approx(0, abs=1e-8) and run.point["y"] == 0
        assert run.kind == "saddle point"
    assert result.critical_points[0].kind == "saddle point"
    assert result.warnings == ["gd, newton converged to a saddle point, not a local minimum"]
    assert result.exit_code == 0


def test_off_the_manifold_descent_leaves_the_saddle():
    (run,) = autodiff.minimize("x^2 - y^2", {"x": 1, "y": 1e-3}, optimizer="gd", lr=0.1).runs
    assert run.status == "diverged"
    assert "smaller --lr" in run.message and "no minimum" in run.message


@pytest.mark.parametrize(("expression", "start", "why"), [
    ("-x^2", 1, "ran away"),  # unbounded below: the point runs away, the gradient grows
    ("x^3", -1, "ran away"),  # falls ever faster towards -inf
])
def test_a_function_without_a_minimum_diverges(expression, start, why):
    result = invoke("minimize", "--from", f"x={start}", "--lr", "0.1", "--", expression)
    assert result.exit_code == 1
    assert "diverged" in result.stdout and why in result.stdout
    assert "try a smaller --lr" in result.stdout


@pytest.mark.parametrize("expression", ["log(x)", "sqrt(x)", "1/(x+1)"])
def test_a_start_outside_the_domain_asks_for_another_start_not_a_smaller_lr(expression):
    result = invoke("minimize", expression, "--from", "x=-1", "--no-symbolic")
    assert result.exit_code == 1
    verdict = result.stdout.splitlines()[-1]
    assert verdict.startswith("✗ gd cannot start: f is ")
    assert "at the start (x = -1), which is outside f's domain; try another --from" in verdict
    assert "--lr" not in verdict and "diverged at step 0" not in verdict


def test_a_run_past_the_graph_nodes_limit_stops_stalled_at_a_counted_step():
    # x^2 + y^2 records 6 graph nodes an evaluation (with the sign): 1,000 nodes
    # are passed at the 167th evaluation, on every machine and under any load.
    result = invoke("minimize", "x^2+y^2", "--from", "x=1,y=1", "--optimizer", "gd", "--steps", "1000000",
                    "--lr", "1e-9", "--limit", "graph-nodes=1000", "--no-symbolic", "--json")
    assert result.exit_code == 1
    (run,) = strict_loads(result.stdout)["optimizers"]
    assert run["status"] == "stalled" and run["steps"] == 166 and run["evaluations"] == 167
    assert run["message"] == (
        "stopped after 166 steps: 167 evaluations of f and ∇f (6 graph nodes each) counted 1,002 graph nodes, "
        "more than the limit of 1,000 on one optimiser's run (‖∇f‖ = 2.828426 > 1e-08); fewer --steps, another "
        "--lr, or raise it with --limit graph-nodes=N"
    )


def test_each_optimizer_gets_its_own_graph_nodes_budget():
    result = autodiff.minimize("x^2+y^2", {"x": 1, "y": 1}, optimizer="gd,sgd,newton", lr=1e-9, steps=1_000_000,
                               symbolic=False, limits={"graph-nodes": 600})
    assert [run.status for run in result.runs] == ["stalled", "stalled", "stalled"]
    assert [run.steps for run in result.runs] == [100, 100, 25]  # Newton's Hessian counts 3 evaluations more
    assert "(6 graph nodes each, and 3 times that for each step's Hessian) counted 606 graph nodes" in result.runs[2].message
    assert all("--limit graph-nodes=N" in run.message for run in result.runs)


def test_autograd_seconds_stops_a_run_as_a_wall_clock_timeout():
    result = autodiff.minimize("x^2+y^2", {"x": 1, "y": 1}, optimizer="gd", lr=1e-9, steps=1_000_000,
                               symbolic=False, limits={"autograd-seconds": 1e-9})
    (run,) = result.runs
    assert run.status == "stalled" and run.steps == 0
    assert run.message.startswith("stopped after 0 steps by the wall-clock timeout of 1e-09 s on one optimiser's run")
    assert "depends on the machine and its load" in run.message and "--limit autograd-seconds=N" in run.message


def test_exp_has_no_critical_point():
    result = autodiff.minimize("exp(-x)", {"x": 1}, optimizer="gd", lr=0.1, steps=50)
    assert result.symbolic_status == "solved" and result.critical_points == []
    assert "no real critical point" in result.symbolic_message
    assert result.runs[0].status == "stalled" and result.exit_code == 1


def test_maximize_climbs_to_the_maximum():
    result = autodiff.minimize("sin(x)", {"x": 1}, optimizer="gd,adam,newton", lr=0.1, maximize=True)
    for run in result.runs:
        assert run.status == "converged"
        assert run.point["x"] == pytest.approx(math.pi / 2, abs=1e-7)
        assert run.value == pytest.approx(1.0, abs=1e-12)
        assert run.gradient["x"] == pytest.approx(math.cos(run.point["x"]))  # f's gradient, not −f's
        assert run.kind == "local maximum"
    # cos(x) = 0 has infinitely many solutions: the five nearest the start, pi/2 among them
    assert result.symbolic_status == "partial" and "periodic" in result.symbolic_message
    assert [p.exact["x"] for p in result.critical_points] == ["-3*pi/2", "-pi/2", "pi/2", "3*pi/2", "5*pi/2"]
    top = result.critical_points[2]
    assert top.kind == "local maximum" and top.value == 1.0 and top.reached_by == ["gd", "adam", "newton"]
    assert result.to_json()["goal"] == "maximum" and result.exit_code == 0


def test_a_kink_stalls_gd_back_and_forth_and_sympy_cannot_solve():
    result = autodiff.minimize("abs(x)", {"x": 3}, optimizer="gd,newton", lr=0.1)
    gd, newton = result.runs
    assert gd.status == "stalled" and abs(gd.point["x"]) <= 0.1  # it straddles 0 at most one step away
    assert gd.gradient_norm == 1.0 and "back and forth" in gd.message
    assert newton.status == "stalled" and "left the point where it was" in newton.message  # the Hessian is 0
    assert result.symbolic_status == "failed" and "could not solve" in result.symbolic_message
    assert result.exit_code == 1


def test_a_smooth_kink_free_function_with_relu_converges_away_from_its_kink():
    (run,) = autodiff.minimize("relu(x - 1) + (x - 3)^2", {"x": 0}, optimizer="newton").runs
    assert run.status == "converged" and run.point["x"] == pytest.approx(2.5)


def test_a_family_of_critical_points():
    result = autodiff.minimize("(x+y)^2", {"x": 1, "y": 2}, optimizer="lbfgs")
    (point,) = result.critical_points
    assert point.family and point.exact == {"x": "-y", "y": "y"}
    assert result.runs[0].point["x"] + result.runs[0].point["y"] == pytest.approx(0, abs=1e-8)


def test_symbolic_timeout_is_said():
    result = autodiff.minimize(TUTORIAL, {"x": 3}, optimizer="newton", symbolic_timeout=0)
    assert result.symbolic_status == "timeout" and "--symbolic-timeout" in result.symbolic_message
    assert result.runs[0].status == "converged" and result.exit_code == 0


# --- output ------------------------------------------------------------------


def test_json_shape():
    result = invoke("minimize", TUTORIAL, "--from", "x=3", "--optimizer", "gd,newton", "--lr", "0.1",
                    "--expect", "x=-0.75", "--json")
    payload = strict_loads(result.stdout)
    assert result.exit_code == 0
    assert list(payload) == [
        "command", "expression", "variables", "from", "goal", "steps", "tol", "dtype", "optimizers",
        "critical_points", "converged", "output", "warnings", "expected", "expect_met",
    ]
    assert payload["command"] == "minimize" and payload["expression"] == "2*x**2 + 3*x + 1"
    assert payload["from"] == {"x": 3.0} and payload["expected"] == {"x": -0.75} and payload["expect_met"] is True
    run = payload["optimizers"][0]
    assert list(run) == [
        "optimizer", "lr", "status", "message", "point", "value", "gradient", "gradient_norm", "steps",
        "steps_to_tolerance", "evaluations", "seconds", "kind", "eigenvalues", "critical_point", "expect_met",
    ]
    assert run["eigenvalues"] == [pytest.approx(4.0)] and run["critical_point"] == 0
    assert payload["critical_points"]["points"][0]["reached_by"] == ["gd", "newton"]


def test_json_of_a_diverged_run_is_strict():
    result = invoke("minimize", "x^3", "--from", "x=-1", "--lr", "0.1", "--json")
    run = strict_loads(result.stdout)["optimizers"][0]
    assert run["status"] == "diverged" and run["value"] in ("-inf", "nan") or isinstance(run["value"], float)


def test_trace_is_one_object_per_step_per_optimizer_then_the_result():
    result = invoke("minimize", "x^2", "--from", "x=1", "--optimizer", "gd,newton", "--lr", "0.25", "--trace")
    lines = [strict_loads(line) for line in result.stdout.splitlines()]
    *steps, final = lines
    gd = [line for line in steps if line["optimizer"] == "gd"]
    newton = [line for line in steps if line["optimizer"] == "newton"]
    assert len(gd) == final["optimizers"][0]["steps"] + 1 and len(newton) == final["optimizers"][1]["steps"] + 1
    assert gd[0] == {"optimizer": "gd", "step": 0, "point": {"x": 1.0}, "value": 1.0, "gradient": {"x": 2.0},
                     "gradient_norm": 2.0}
    assert gd[1]["point"] == {"x": 0.5}  # x − 0.25·2x
    assert final["command"] == "minimize" and result.exit_code == 0


def test_plot_draws_f_against_the_step_under_the_table():
    result = invoke("minimize", TUTORIAL, "--from", "x=3", "--optimizer", "gd,lbfgs", "--lr", "0.1", "--plot",
                    "--width", "60", "--height", "15")
    assert "f against the step (minimize)" in result.stdout and "step" in result.stdout.splitlines()[-1]
    assert "gd" in result.stdout.split("f against the step")[1]


def test_output_writes_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "paths.svg"
    result = invoke("minimize", "(1-x)^2 + 100*(y-x^2)^2", "--from", "x=-1.2,y=1", "--optimizer", "lbfgs",
                    "--output", str(path))
    assert result.exit_code == 0 and f"wrote {path}" in result.stdout
    assert path.read_text().startswith("<?xml")


def test_the_figure_of_one_variable_shows_the_whole_path_from_its_start(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib import pyplot

    from autodiff.presentation.minimize_view import path_box

    result = optimizers.minimize("x^4-x^2+0.3*x", {"x": -2}, optimizer="gd", record=True)
    path = [p[0] for p, _, _, _ in result.runs[0].history]
    assert path[0] == -2.0 and path[-1] == pytest.approx(-0.7726981803, abs=1e-6)
    ((low, high),) = path_box(result, ["x"])
    assert low < -2.0 and -0.7726981803 < high  # before: -0.785 to -0.772, the last steps only
    assert high - low == pytest.approx(1.2 * (max(path) - min(path)))
    figures = []
    monkeypatch.setattr(pyplot, "close", figures.append)  # keep the figure to read it
    result = invoke("minimize", "x^4-x^2+0.3*x", "--from", "x=-2", "--output", str(tmp_path / "path.png"))
    assert result.exit_code == 0, result.output
    axes = figures[0].axes[0]
    assert axes.get_xlim() == pytest.approx((low, high))
    f_curve, run, start = axes.lines[:3]
    assert min(f_curve.get_xdata()) == pytest.approx(low) and max(f_curve.get_xdata()) == pytest.approx(high)
    assert list(run.get_xdata()) == path and (start.get_xdata()[0], start.get_ydata()[0]) == (-2.0, 11.4)
    bottom, top = axes.get_ylim()
    assert bottom <= min(run.get_ydata()) and max(run.get_ydata()) <= top  # f along the path is in view


def test_a_diverged_run_does_not_stretch_the_figure():
    from autodiff.presentation.minimize_view import path_box

    result = optimizers.minimize("x^2", {"x": 1}, optimizer="gd,lbfgs", lr=1.5, record=True)
    assert [run.status for run in result.runs] == ["diverged", "converged"]
    ((low, high),) = path_box(result, ["x"])
    assert low < 0 < 1 < high < 1.2  # lbfgs from 1 to 0; gd leaves it, to |x| = 2^11


def test_output_must_be_an_image_file(tmp_path):
    result = invoke("minimize", "x^2", "--from", "x=1", "--output", str(tmp_path / "f.txt"))
    assert result.exit_code == 2 and "--output must end in" in result.stderr


def test_streaming_many_expressions():
    result = invoke("minimize", "-", "--from", "x=3", "--optimizer", "newton", "--json", input="x^2\n(x-1)^2\n")
    lines = [strict_loads(line) for line in result.stdout.splitlines()]
    assert [line["line"] for line in lines] == [1, 2]
    assert [line["optimizers"][0]["point"]["x"] for line in lines] == [0.0, 1.0]
    assert result.exit_code == 0


def test_expect_not_met_is_exit_1():
    result = invoke("minimize", TUTORIAL, "--from", "x=3", "--optimizer", "newton", "--expect", "-1.5")
    assert result.exit_code == 1 and "✗ --expect not met by newton" in result.stdout


# --- bad options -------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--optimizer", "adm"], "error: unknown optimizer 'adm'; did you mean adam? (known: gd, sgd, momentum, "
     "nesterov, adam, adamw, rmsprop, adagrad, lbfgs, newton, or all)\n"),
    (["--lr", "-0.1"], "error: --lr must be a number > 0, not -0.1\n"),
    (["--lr", "0"], "error: --lr must be a number > 0, not 0.0\n"),
    (["--steps", "0"], "error: --steps must be at least 1, not 0; see autodiff minimize -h\n"),
    (["--tol", "-1"], "error: --tol must be a number >= 0, not -1.0\n"),
])
def test_bad_options_are_one_line_with_exit_2(args, message, capsys):
    from autodiff.frontends.cli import main

    with pytest.raises(SystemExit) as leaving:
        main(["minimize", "x^2", "--from", "x=1", *args])
    captured = capsys.readouterr()
    assert leaving.value.code == 2
    assert captured.err == message and captured.out == ""


@pytest.mark.parametrize(("args", "message"), [
    (["x^2+y", "--from", "x=1"], "no start for y; add --from y=…"),
    (["x^2"], "minimize needs a start: add --from x=…"),
    (["3", "--from", "x=1"], "minimize needs an expression with a variable"),
    (["x^2", "--from", "x=[1,2]"], "--from is one point"),
    (["x^2", "--from", "x=1", "--expect", "y=0"], "--expect names y"),
])
def test_bad_input_is_exit_2(args, message):
    result = invoke("minimize", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_option_in_json_mode_is_an_error_object():
    result = invoke("minimize", "x^2", "--from", "x=1", "--optimizer", "sdg", "--json")
    error = strict_loads(result.stdout)["error"]
    assert result.exit_code == 2 and error["type"] == "usage_error" and "did you mean sgd?" in error["message"]


def test_the_optimizer_list_parses_commas_repeats_and_all():
    assert optimizers.parse_optimizers(None) == ["gd"]
    assert optimizers.parse_optimizers(["adam,lbfgs", "gd", "adam"]) == ["adam", "lbfgs", "gd"]
    assert optimizers.parse_optimizers("all") == list(optimizers.OPTIMIZERS)


# --- check files and the API -------------------------------------------------

CASES = """
[[case]]
name = "the tutorial's minimum"
expr = "2*x^2+3*x+1"
minimize = { from = { x = 3 }, optimizer = "gd", lr = 0.1, steps = 100, expect = { x = -0.75 }, value = -0.125 }

[[case]]
name = "the tutorial's printed answer"
expr = "2*x^2+3*x+1"
minimize = { from = { x = 3 }, optimizer = ["newton"], expect = { x = -1.5 } }

[[case]]
name = "too large a rate"
expr = "x^2"
minimize = { from = { x = 1 }, optimizer = "sgd", lr = 1.5 }

[[case]]
name = "a derivative and a minimum"
expr = "x^2"
at = { x = 2 }
grad = { x = 4 }
minimize = { from = { x = "pi" }, optimizer = "lbfgs,newton", expect = { x = 0 } }
"""


def test_a_case_file_with_minimize_cases(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text(CASES)
    result = invoke("check", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "✓ the tutorial's minimum", "✗ the tutorial's printed answer", "✗ too large a rate",
        "✓ a derivative and a minimum",
    ]
    assert "  newton: expected x = -1.5, got x = -0.75" in lines
    assert any("sgd diverged at step 11" in line and "smaller --lr" in line for line in lines)
    assert lines[-1] == "2 passed, 2 failed"
    report = autodiff.check([str(path)])
    assert [r.reports[0].command for r in report.results] == ["minimize"] * 4
    assert [r.command for r in report.results[3].reports] == ["minimize", "grad"]


def test_a_minimize_case_runs_in_worker_processes(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nexpr = "(x-1)^2"\n'
                    'minimize = { from = { x = 3 }, optimizer = "gd", lr = 0.1, steps = 100 }\n')
    result = subprocess.run([sys.executable, "-m", "autodiff", "check", str(path), "--jobs", "2"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["✓ (x-1)^2", "1 passed, 0 failed"]


def test_a_minimize_result_pickles_without_its_program():
    import pickle

    result = autodiff.minimize("(x-1)^2", {"x": 3}, optimizer="gd", lr=0.1, steps=100, symbolic=False)
    assert result.program is not None
    copy = pickle.loads(pickle.dumps(result))
    assert copy.program is None and result.program is not None
    assert copy.to_json() == result.to_json()


@pytest.mark.parametrize(("table", "message"), [
    ('{ from = { x = 3 }, optimiser = "gd" }', "minimize.optimiser: unknown key; did you mean 'optimizer'?"),
    ('{ optimizer = "gd" }', "missing key 'from'"),
    ('{ from = { x = 3 }, lr = -1 }', "minimize.lr: expected a number > 0, got the number -1"),
    ('{ from = { x = 3 } }\nvalue = 0', "missing key 'at': value is checked at a point"),
    ('{ from = { x = 3 }, steps = 0 }', "minimize.steps: expected a whole number ≥ 1"),
])
def test_a_malformed_minimize_case_is_exit_2(tmp_path, table, message):
    path = tmp_path / "cases.toml"
    path.write_text(f'[[case]]\nexpr = "x^2"\nminimize = {table}\n')
    result = invoke("check", str(path))
    assert result.exit_code == 2 and message in result.stderr


def test_the_api_takes_text_mappings_and_definitions():
    text = autodiff.minimize("g(x)^2", "x=3", optimizer=["newton"], define="g(t) = t - 1")
    assert text.runs[0].point["x"] == pytest.approx(1.0)
    both = autodiff.minimize("g(x)^2 + 1", {"x": 3}, optimizer="newton", define=["a = 2", "g(t) = t - a"],
                             record=True)
    (run,) = both.runs
    assert run.point["x"] == pytest.approx(2.0) and run.value == pytest.approx(1.0)
    assert both.trace()[0]["point"] == {"x": 3.0} and len(both.trace()) == run.steps + 1
    assert json.loads(json.dumps(both.to_json()))["optimizers"][0]["status"] == "converged"


def test_the_api_raises_autodiff_errors():
    with pytest.raises(autodiff.AutodiffError) as error:
        autodiff.minimize("x^2", {"x": 1}, optimizer="newtn")
    assert error.value.exit_code == 2 and "did you mean newton?" in error.value.message


# --- help and docs -----------------------------------------------------------


def test_help_imports_neither_torch_nor_sympy():
    probe = (
        "import sys\nfrom autodiff.frontends.cli import main\ntry:\n    main(['minimize', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy')))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert completed.stdout.splitlines()[-1] == "[]"


def test_every_option_of_minimize_is_in_the_readme():
    result = invoke("minimize", "--help")
    assert result.exit_code == 0 and "--from" in result.stdout
    for option in re.findall(r"--[a-z][a-z-]+", result.stdout):
        assert option in README, f"minimize {option} is not documented in the README"
