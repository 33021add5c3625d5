"""`autodiff plot`: sampled curves, the terminal chart and image files."""

from __future__ import annotations

import math
import struct
import xml.etree.ElementTree as ET

import pytest
from helpers import invoke, invoke_json

from autodiff import api


def test_json_arrays_are_f_and_its_derivatives():
    result, report = invoke_json("plot", "sin(x)", "--order", "2", "--points", "41")
    assert result.exit_code == 0
    assert report["variable"] == "x" and report["range"] == [-5.0, 5.0] and report["points"] == 41
    xs = report["x"]
    assert xs[0] == -5.0 and xs[-1] == 5.0 and len(xs) == 41
    assert report["f"] == pytest.approx([math.sin(x) for x in xs], abs=1e-15)
    first, second = report["derivatives"]
    assert first["order"] == 1 and first["label"] == "f′" and first["symbolic"] == "cos(x)"
    assert first["autograd"] == pytest.approx([math.cos(x) for x in xs], abs=1e-15)
    assert first["symbolic_values"] == pytest.approx(first["autograd"], abs=1e-15)
    assert second["symbolic"] == "-sin(x)"
    assert second["autograd"] == pytest.approx([-math.sin(x) for x in xs], abs=1e-15)
    assert first["max_abs_difference"] <= 1e-15 and first["agree"] is True
    assert report["agree"] is True and report["checked_by"] == "symbolic" and report["output"] is None


def test_range_and_other_variables():
    _, report = invoke_json("plot", "x*y^2", "--range", "y=0:2", "--at", "x=3", "--points", "3")
    assert report["variable"] == "y" and report["x"] == [0.0, 1.0, 2.0] and report["at"] == {"x": 3.0}
    assert report["f"] == [0.0, 3.0, 12.0]
    assert report["derivatives"][0]["autograd"] == [0.0, 6.0, 12.0]  # 2xy
    _, report = invoke_json("plot", "exp(t)", "--range", "0:1", "--points", "2")
    assert report["variable"] == "t" and report["f"] == pytest.approx([1.0, math.e])


def test_points_where_f_is_not_finite_are_gaps():
    result, report = invoke_json("plot", "1/x", "--points", "101")
    assert result.exit_code == 0
    assert report["f"][50] in ("inf", "-inf", "nan")  # x = 0 exactly
    assert report["derivatives"][0]["autograd"][50] in ("inf", "-inf", "nan")
    assert report["f"][49] == pytest.approx(-10.0) and report["f"][51] == pytest.approx(10.0)
    from autodiff.plotting import finite_runs

    runs = finite_runs(report["x"], [v if isinstance(v, float) else math.inf for v in report["f"]])
    assert [len(xs) for xs, _ in runs] == [50, 50]


def test_terminal_chart_has_labelled_curves_and_no_colour_when_piped():
    result = invoke("plot", "sin(x)", "--order", "2", "--width", "80", "--height", "20")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "\x1b[" not in result.stdout
    assert "f(x) = sin(x)" in lines[0]
    chart = "\n".join(lines[:20])
    assert "f′ (autograd)" in chart and "f″ (autograd)" in chart and " f " in chart
    assert max(len(line) for line in lines[:20]) <= 80
    assert any("┤" in line for line in lines) and any(line.strip().startswith("└") for line in lines)
    assert lines[-2] == "f′ = cos(x): max |autograd − symbolic| = 0 ✓"
    assert lines[-1] == "f″ = -sin(x): max |autograd − symbolic| = 0 ✓"


def test_png_file_has_the_requested_size(tmp_path):
    path = tmp_path / "s.png"
    result = invoke("plot", "sin(x)", "--order", "2", "--output", str(path), "--width", "640", "--height", "480")
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (640, 480)
    assert result.stdout.startswith(f"wrote {path}\n")


def test_svg_file_is_valid_with_legend_and_title(tmp_path):
    path = tmp_path / "s.svg"
    result, report = invoke_json("plot", "sin(x)", "--order", "2", "--output", str(path))
    assert result.exit_code == 0 and report["output"] == str(path)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert root.get("width") == "576pt" and root.get("height") == "360pt"  # 800×500 px at 100 dpi
    text = path.read_text()
    assert text.count('id="line2d_') >= 3  # f, f′, f″ (plus axis ticks)


def test_pdf_file(tmp_path):
    path = tmp_path / "s.pdf"
    assert invoke("plot", "x^3", "--output", str(path)).exit_code == 0
    assert path.read_bytes()[:5] == b"%PDF-"


def test_a_title_mathtext_cannot_typeset_falls_back_to_plain_text(tmp_path):
    path = tmp_path / "w.png"
    result = invoke("plot", "where(x > 0, x^2, sigmoid(x))", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "x*y"], "plot draws one variable; choose it with --range"),
        (["plot", "x*y", "--range", "x=0:1"], "no value for y"),
        (["plot", "x", "--range", "x=1:0"], "the range must go up"),
        (["plot", "x", "--range", "x=1"], "a range is name=start:stop"),
        (["plot", "x", "--output", "f.gif"], "--output must end in .png, .svg, .pdf"),
        (["plot", "x*y", "--at", "y=[1,2]"], "--at takes no vectors here"),
        (["plot", "x", "--order", "4"], "less than or equal to 3"),
    ],
)
def test_plot_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stdout + result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_symbolic_disagreement_fails(monkeypatch):
    from autodiff import symbolic

    real = symbolic.symbolic_derivative
    monkeypatch.setattr(symbolic, "symbolic_derivative", lambda expr, seq, symbols=None: real(expr, seq, symbols) + 1)
    report = api.plot("sin(x)", points=5)
    assert report.curves[0]["agree"] is False and report.exit_code == 1
    assert report.curves[0]["max_abs_difference"] == pytest.approx(1.0)


def test_a_function_that_does_not_use_the_plotted_variable_is_flat():
    _, report = invoke_json("plot", "x", "--range", "y=0:1", "--at", "x=2", "--points", "3", "--order", "2")
    assert report["f"] == [2.0, 2.0, 2.0]
    assert [d["autograd"] for d in report["derivatives"]] == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert report["agree"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "sin(x)", "-r", "x=-1e308:1e308"], "the range is too wide"),
        (["plot", "sin(x)", "-r", "x=-1e308:1e308", "-o", "h.png"], "the range is too wide"),
        (["plot", "pi", "-r", "pi=0:1"], "--range names pi, which is a constant"),
        (["plot", "sin(x)", "-o", "w.png", "--width", "100000"], "less than or equal to 10000"),
    ],
)
def test_plot_inputs_found_in_review(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.stdout + result.stderr
    assert not list(tmp_path.iterdir())


def test_large_values_get_short_ticks_and_a_chart():
    result = invoke("plot", "exp(100*x)", "--width", "80", "--height", "12")
    assert result.exit_code == 0
    assert "1.404e+219┤" in result.stdout and "f′ (autograd)" in result.stdout


def test_a_chart_plotext_cannot_lay_out_is_exit_2_not_a_crash(monkeypatch):
    import plotext

    def broken(*args, **kwargs):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(plotext, "build", broken)
    result = invoke("plot", "sin(x)")
    assert result.exit_code == 2
    assert "the terminal chart cannot be drawn for these values (OverflowError)" in result.stderr


def test_many_points_are_thinned_for_the_terminal():
    from autodiff.plotting import terminal_chart

    report = api.plot("sin(x)", points=200_000, symbolic=False)
    chart = terminal_chart(report, 60, 12, color=False)
    assert len(chart.splitlines()) >= 12 and "f(x) = sin(x)" in chart


def test_one_sided_non_finite_points_are_counted():
    result = invoke("plot", "x^x", "--points", "5", "--range", "x=0:1", env={"COLUMNS": "300"})
    assert result.exit_code == 1  # at 0: autograd 0, symbolic -inf
    assert "where both are finite; 1 point(s) where only one is ✗" in result.stdout
    _, report = invoke_json("plot", "x^x", "--points", "5", "--range", "x=0:1")
    assert report["derivatives"][0]["nonfinite_mismatches"] == 1
