"""`autodiff plot`: sampled curves, the terminal chart and image files."""

from __future__ import annotations

import math
import re
import struct
import xml.etree.ElementTree as ET

import pytest
from helpers import invoke, invoke_json

from autodiff.commands import api


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
    from autodiff.presentation.plotting import finite_runs

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
    from autodiff.engine import symbolic

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
    labels = [label for label, _ in _y_ticks(result.stdout)]
    assert labels == ["1e219", "0"]  # round, short; the whole curve (exp grows steadily: no blow-up to cut)
    assert "f′ (autograd)" in result.stdout


@pytest.mark.parametrize(
    ("args", "y_labels", "x_labels"),
    [
        # next to the float limit, where plotext's own scales overflow: the axis is drawn in units of 1e307
        (["exp(x)", "--range", "x=700:709"], ["7.5e307", "5e307", "2.5e307", "0"], ["700", "702", "704", "706", "708"]),
        (["x", "--range", "x=1e300:1e308"], ["1e308", "5e307", "0"], ["2e307", "4e307", "6e307", "8e307", "1e308"]),
        (["exp(x)", "--range", "x=-800:-700"], ["1e-304", "5e-305", "0"], ["-800", "-775", "-750", "-725", "-700"]),
    ],
)
def test_charts_of_values_near_the_float_limits_are_drawn_with_their_own_labels(args, y_labels, x_labels):
    result = invoke("plot", *args, "--width", "70", "--height", "18")
    assert result.exit_code == 0, result.stderr
    assert [label for label, _ in _y_ticks(result.stdout)] == y_labels
    assert result.stdout.splitlines()[-3].split() == x_labels
    # the curve is drawn where its values are: at the right edge, above the second tick's row
    canvas = _canvas(result.stdout)
    assert api.plot(args[0], over=args[2], symbolic=False).f[-1] > float(y_labels[1])
    second = dict(_y_ticks(result.stdout))[y_labels[1]]
    assert any(line.rstrip()[-2] not in " ─" for line in canvas[:second])


def test_a_chart_plotext_cannot_lay_out_is_exit_2_not_a_crash(monkeypatch):
    import plotext

    def broken(*args, **kwargs):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(plotext, "build", broken)
    result = invoke("plot", "sin(x)")
    assert result.exit_code == 2
    assert "the terminal chart cannot be drawn for these values (OverflowError)" in result.stderr


def test_many_points_are_thinned_for_the_terminal():
    from autodiff.presentation.plotting import terminal_chart

    report = api.plot("sin(x)", points=200_000, symbolic=False)
    chart = terminal_chart(report, 60, 12, color=False)
    assert len(chart.splitlines()) >= 12 and "f(x) = sin(x)" in chart


def test_one_sided_non_finite_points_are_counted():
    result = invoke("plot", "x^x", "--points", "5", "--range", "x=0:1", env={"COLUMNS": "300"})
    assert result.exit_code == 1  # at 0: autograd 0, symbolic -inf
    assert "where both are finite; 1 point(s) where only one is ✗" in result.stdout
    _, report = invoke_json("plot", "x^x", "--points", "5", "--range", "x=0:1")
    assert report["derivatives"][0]["nonfinite_mismatches"] == 1


# The chart for people: round ticks, a y range that survives poles, curves
# told apart without colour, a legend out of the way, the terminal's size.


def _canvas(chart: str) -> list[str]:
    """The rows inside the chart's frame, with the y tick labels and axis."""
    lines = chart.splitlines()
    top = next(index for index, line in enumerate(lines) if "┌" in line)
    bottom = next(index for index, line in enumerate(lines) if "└" in line)
    return lines[top + 1 : bottom]


def _y_ticks(chart: str) -> list[tuple[str, int]]:
    """(label, row) of each y tick, top to bottom."""
    matches = [(re.match(r" *([^\s┤├│]+)[┤├]", line), row) for row, line in enumerate(_canvas(chart))]
    return [(match.group(1), row) for match, row in matches if match]


def _round(value: float, step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10)) and math.isclose(
        value / step, round(value / step), abs_tol=1e-9
    )


@pytest.mark.parametrize(
    ("low", "high"),
    [(-1.1, 1.1), (-9.93, 39.2), (0.0067, 155.0), (-5.0, 5.0), (0.64, 0.66), (-3e7, 4e7), (1e-5, 5e-5), (2.0, 3.0),
     (0.0, 1e-304), (-3e-20, 7e-20), (1e300, 1.7e308)],
)
def test_ticks_are_round_and_include_zero_when_in_range(low, high):
    from autodiff.presentation.plotting import nice_ticks, tick_labels

    ticks, step = nice_ticks(low, high, 5)
    assert 3 <= len(ticks) <= 8
    assert all(low <= tick <= high for tick in ticks)
    assert all(_round(tick, step) for tick in ticks)
    assert (0.0 in ticks) == (low <= 0 <= high)
    labels = tick_labels(ticks, step)
    assert all(len(label) <= (6 if 1e-10 < high - low < 1e10 else 8) for label in labels)
    assert [float(label) for label in labels] == pytest.approx(ticks)


def test_chart_ticks_are_round_with_a_zero_line():
    result = invoke("plot", "sin(x)", "--width", "80", "--height", "24")
    ticks = _y_ticks(result.stdout)
    assert [label for label, _ in ticks] == ["1", "0.5", "0", "-0.5", "-1"]
    zero_row = _canvas(result.stdout)[dict(ticks)["0"]]
    assert zero_row.lstrip().startswith("0├") and zero_row.count("─") > 20  # the zero line
    x_labels = result.stdout.splitlines()[-3].split()
    assert x_labels == ["-4", "-2", "0", "2", "4"]
    result = invoke("plot", "x + 10", "--range", "x=0:1", "--width", "80", "--height", "24")
    assert [label for label, _ in _y_ticks(result.stdout)] == ["10", "8", "6", "4", "2"]
    assert "├" not in result.stdout  # no zero line: 0 is not in range


def test_the_y_range_of_tan_is_the_bulk_of_the_data_not_its_poles():
    from autodiff.presentation.plotting import y_window

    report = api.plot("tan(x)", symbolic=False)
    window = y_window(report)
    assert max(report.curves[0]["autograd"]) > 1e4  # the spikes next to the poles
    # tan's bulk, as far below 0 as above: the derivative's stronger poles (1 + tan² ≥ 1) stop at the same height
    assert window.low == pytest.approx(-window.high) and 7 < window.high < 10
    inside = sum(window.low <= y <= window.high for y in report.f)
    assert inside / len(report.f) > 0.85


@pytest.mark.parametrize("expression", ["exp(x)", "x^3", "sin(x)", "sign(x)", "where(x > 4, 100, 0)", "3"])
def test_smooth_curves_are_never_clipped(expression):
    from autodiff.presentation.plotting import y_window

    report = api.plot(expression, order=2, symbolic=False)
    window = y_window(report)
    assert window.clipped == []
    values = list(report.f) + [y for curve in report.curves for y in curve["autograd"]]
    assert window.low <= min(values) and max(values) <= window.high


def test_tan_is_drawn_with_its_shape_at_80_by_24():
    result = invoke("plot", "tan(x)", env={"COLUMNS": "80", "LINES": "24"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert sum(-(-len(line) // 80) for line in lines) == 23  # the terminal's rows as it wraps them, less the prompt's
    assert [label for label, _ in _y_ticks(result.stdout)] == ["5", "0", "-5"]
    assert "clipped: f beyond the y range at 38 points, f′ at 108 (y from -8.47 to 8.47; set it with --ylim)" in lines
    rows_with_f = [row for row in _canvas(result.stdout) if any("⠁" <= char <= "⣿" for char in row)]
    assert len(rows_with_f) >= 15  # f climbs through the chart, not a flat line


def test_clipping_is_counted_per_curve():
    from autodiff.presentation.plotting import y_window

    _, report = invoke_json("plot", "1/x")
    f = [y for y in report["f"] if isinstance(y, float)]
    window = y_window(api.plot("1/x", symbolic=False))
    beyond = sum(not window.low <= y <= window.high for y in f)
    assert beyond > 0 and window.clipped[0] == ("f", beyond)
    assert invoke("plot", "sin(x)").stdout.count("clipped") == 0


def test_ylim_is_honoured_in_the_chart_and_the_count():
    _, report = invoke_json("plot", "tan(x)")
    beyond_f = sum(abs(y) > 2 for y in report["f"])
    beyond_derivative = sum(abs(y) > 2 for y in report["derivatives"][0]["autograd"])
    result = invoke("plot", "tan(x)", "--ylim", "-2:2", "--width", "80", "--height", "22")
    assert result.exit_code == 0
    ticks = _y_ticks(result.stdout)
    rows = len(_canvas(result.stdout))
    assert ticks[0] == ("2", 0) and ticks[-1] == ("-2", rows - 1)  # exactly the range asked for
    assert f"clipped: f beyond the y range at {beyond_f} points, f′ at {beyond_derivative}" in result.stdout
    assert "(y from" not in result.stdout  # the user chose it
    assert invoke("plot", "tan(x)", "--ylim=-pi:pi").exit_code == 0


def test_ylim_is_honoured_in_a_file(tmp_path, monkeypatch):
    from autodiff.presentation import plotting

    seen = []
    real = plotting.write_file
    monkeypatch.setattr(plotting, "write_file", lambda *args: seen.append(args[4]) or real(*args))
    result = invoke("plot", "tan(x)", "--ylim", "-3:5", "--output", str(tmp_path / "t.png"))
    assert result.exit_code == 0, result.output
    assert (seen[0].low, seen[0].high, seen[0].chosen) == (-3.0, 5.0, True)
    assert "clipped: f beyond the y range at" in result.stdout


@pytest.mark.parametrize(
    ("ylim", "message"),
    [
        ("5", "--ylim '5': give the y range as LOW:HIGH, e.g. --ylim -10:10"),
        ("x=1:2", "give the y range as LOW:HIGH"),
        ("3:1", "the range must go up: 3 is not below 1"),
        ("a:b", "a value cannot contain variables (a)"),
        ("1:inf", "inf is not a finite real number"),
        ("", "give the y range as LOW:HIGH"),
    ],
)
def test_a_bad_ylim_is_exit_2_in_one_line(ylim, message):
    result = invoke("plot", "tan(x)", "--ylim", ylim)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: --ylim") and message in result.stderr


def test_without_colour_the_curves_and_the_legend_have_distinct_marks():
    result = invoke("plot", "sin(x)", "--order", "3", "--width", "100", "--height", "30")
    chart = "\n".join(_canvas(result.stdout))
    legend = ["⠒⠒ f ", "•• f′ (autograd)", "×× f″ (autograd)", "++ f‴ (autograd)"]
    assert all(entry in chart for entry in legend)
    for mark in "•×+":
        assert chart.count(mark) > 20  # the curve itself, not only its legend entry
    assert "\x1b[" not in result.stdout


def test_no_color_on_a_terminal_uses_marks_and_colour_uses_braille():
    import io

    from rich.console import Console

    from autodiff.presentation.plotting import render_plot, terminal_chart

    report = api.plot("sin(x)", order=2, symbolic=False)
    out = io.StringIO()
    render_plot(report, Console(file=out, force_terminal=True, no_color=True, width=90, height=30))
    assert "\x1b[" not in out.getvalue() and "×× f″ (autograd)" in out.getvalue()
    coloured = terminal_chart(report, 90, 30, color=True)
    assert "\x1b[38;5;" in coloured
    assert "×" not in coloured and "•" not in coloured  # in colour, every curve is a fine braille line


@pytest.mark.parametrize(
    ("expression", "corner"),
    # f and f′ on 0..1: the legend takes a free corner (the zero line may be
    # covered); of two, the first of upper right, upper left, lower left, lower right.
    [("x", "bottom right"), ("-x", "top right"), ("x^2", "top left"), ("sin(6*x)", "bottom left"), ("-x^2", "top right")],
)
def test_the_legend_goes_where_it_covers_the_least(expression, corner):
    result = invoke("plot", "--range", "x=0:1", "--width", "80", "--height", "24", "--no-symbolic", "--", expression)
    rows = _canvas(result.stdout)
    row = next(index for index, line in enumerate(rows) if "⠒⠒ f " in line)
    vertical = "top" if row == 0 else "bottom" if row == len(rows) - 2 else "middle"
    horizontal = "left" if rows[row].index("⠒⠒ f ") < 40 else "right"
    assert f"{vertical} {horizontal}" == corner


@pytest.mark.parametrize("columns", [60, 80, 120, 160])
def test_the_chart_fills_the_terminal(columns):
    result = invoke("plot", "sin(x)", env={"COLUMNS": str(columns), "LINES": str(columns // 3)})
    lines = result.stdout.splitlines()
    frame = next(line for line in lines if "┌" in line)
    assert len(frame) == columns and max(len(line) for line in lines) <= columns
    assert len(lines) == columns // 3 - 1  # every row but the prompt's


def test_piped_output_has_a_sensible_size():
    result = invoke("plot", "sin(x)", env={"COLUMNS": None, "LINES": None})
    lines = result.stdout.splitlines()
    assert len(next(line for line in lines if "┌" in line)) == 100 and len(lines) == 31


def test_image_title_and_labels_are_in_the_users_notation(tmp_path):
    path = tmp_path / "t.svg"
    result = invoke("plot", "6x^2 + tan(x)", "--order", "2", "--output", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "<!-- f(x) = 6x^2 + tan(x) -->" in text
    assert "<!-- f(x), f'(x), f''(x) -->" in text  # the y label
    assert "<!-- f'(x) -->" in text and "<!-- f''(x) -->" in text  # the legend


def test_plot_help_is_truthful_about_stdin_and_has_examples():
    result = invoke("plot", "--help")
    assert "reads one per line from stdin" not in result.stdout and "plot does not read stdin" in result.stdout
    assert "Examples:\n    autodiff plot \"sin(x)\" --range x=-5:5\n" in result.stdout
    result = invoke("plot", "-", input="sin(x)\n")
    assert result.exit_code == 2
    assert result.stderr == 'error: plot draws one expression, given as its argument; it does not read "-" (stdin)\n'


# The y range cuts blow-ups only; lines break at jumps and poles (issue 29).


@pytest.mark.parametrize(("expression", "over"), [("exp(x)", "x=-1:50"), ("x^10", "x=-1:50"), ("exp(x^2)", None)])
def test_a_steep_smooth_curve_is_shown_whole(expression, over):
    from autodiff.presentation.plotting import y_window

    report = api.plot(expression, over=over, symbolic=False)
    window = y_window(report)
    values = list(report.f) + list(report.curves[0]["autograd"])
    assert window.clipped == []
    assert window.low <= min(values) and max(values) <= window.high <= 1.11 * max(values)


def test_exp_on_a_long_range_reaches_its_top_in_the_chart():
    result = invoke("plot", "exp(x)", "--range", "x=-1:50", "--width", "80", "--height", "24")
    assert result.exit_code == 0 and "clipped" not in result.stdout
    assert [label for label, _ in _y_ticks(result.stdout)][0] == "5e21"  # exp(50) = 5.18e21; before: 6e16


def _samples(function, start, stop, count=400):
    step = (stop - start) / (count - 1)
    return [function(start + i * step) for i in range(count)]


def test_blow_ups_are_told_from_steady_growth():
    from autodiff.presentation.plotting import blow_up_flanks, data_window

    def reciprocal(x):
        return 1 / x if x else math.inf

    steady = [_samples(math.exp, -1, 50), _samples(lambda x: x**10, -1, 50), _samples(math.exp, -1, 700, 20)]
    for values in steady:
        assert not blow_up_flanks(values).any()
        assert data_window([values])[1] >= max(values)
    for values in (_samples(math.tan, -5, 5), _samples(reciprocal, -5, 5, 401), _samples(lambda x: x**-2, -5, 5)):
        finite = [math.isfinite(y) for y in values]
        assert blow_up_flanks(values).tolist() == finite  # every sample climbs into a pole
        assert data_window([values])[1] < max(values) / 5
    # A pole at the end of the range is a blow-up too (tan(pi/2) in floats is 1.6e16).
    values = _samples(math.tan, -math.pi / 2, math.pi / 2)
    low, high = data_window([values])
    assert high == pytest.approx(-low) and 5 < high < 10


def test_a_derivatives_stronger_pole_stops_at_fs_height_on_both_sides_of_zero():
    from autodiff.presentation.plotting import y_window

    window = y_window(api.plot("1/x^2", symbolic=False))  # f > 0; f′ = -2/x³ takes both signs
    assert window.low < -1 and window.high > 2
    assert max(-window.low, window.high) < 3  # f′ reaches ±3.2e5 at the samples by 0, f 1.6e4


def test_the_default_range_of_tan_is_symmetric():
    from autodiff.presentation.plotting import y_window

    for over in (None, "x=-pi/2:pi/2", "x=-3*pi/2:3*pi/2"):
        window = y_window(api.plot("tan(x)", over=over, symbolic=False))
        assert window.low == pytest.approx(-window.high, rel=1e-6) and 5 < window.high < 12


def _breaks_between(report, values):
    from autodiff.presentation.plotting import line_breaks

    return [(report.x[i], report.x[i + 1]) for i in line_breaks(values, report.switches).nonzero().flatten().tolist()]


@pytest.mark.parametrize("points", [400, 401])
def test_a_jump_breaks_the_line_and_a_kink_does_not(points):
    report = api.plot("abs(x)", points=points, symbolic=False)
    assert _breaks_between(report, report.f) == []  # |x| is continuous
    derivative = report.curves[0]["autograd"]  # sign(x): -1, then 1
    breaks = _breaks_between(report, derivative)
    if points == 400:
        assert len(breaks) == 1 and breaks[0][0] < 0 < breaks[0][1]
    else:  # 0 is a sample, where autograd's subgradient is 0: a point of its own
        assert breaks == [(report.x[199], 0.0), (0.0, report.x[201])]


def test_steps_and_where_break_only_at_their_jumps():
    report = api.plot("floor(x)", symbolic=False)
    breaks = _breaks_between(report, report.f)
    assert [math.ceil(a) for a, _ in breaks] == [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5]  # 5: the last sample
    assert all(a < math.ceil(a) <= b for a, b in breaks)
    report = api.plot("where(x > 1, x^2 + 1, x^2)", symbolic=False)
    assert [(a < 1 <= b) for a, b in _breaks_between(report, report.f)] == [True]
    assert _breaks_between(report, report.curves[0]["autograd"]) == []  # f′ = 2x on both sides
    report = api.plot("tanh(100*x)", symbolic=False)  # as steep as a step between two samples, but smooth
    assert _breaks_between(report, report.f) == []


def test_a_pole_breaks_the_line_even_inside_a_chosen_y_range():
    report = api.plot("tan(x)", symbolic=False)
    poles = [k * math.pi / 2 for k in (-3, -1, 1, 3)]
    breaks = _breaks_between(report, report.f)
    assert len(breaks) == 4 and all(a < pole < b for (a, b), pole in zip(breaks, poles))
    from autodiff.presentation.plotting import breaks as chart_breaks, clipped_runs

    runs = clipped_runs(list(report.x), list(report.f), -1e6, 1e6, chart_breaks(report, report.f))
    assert len(runs) == 5 and all(a[-1] < pole < b[0] for ((a, _), (b, _)), pole in zip(zip(runs, runs[1:]), poles))


def test_the_terminal_and_the_file_break_the_line_at_a_jump(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    from autodiff.presentation import plotting

    report = api.plot("abs(x)", symbolic=False)
    derivative = list(report.curves[0]["autograd"])
    # The terminal: thinned to every 7th sample, the jump still between its two sides.
    thinned = plotting.breaks(report, derivative, 7)
    runs = plotting.clipped_runs(report.x[::7], derivative[::7], -2, 2, thinned)
    assert [sorted(set(ys)) for _, ys in runs] == [[-1.0], [1.0]]
    # The file: nan between the two sides, no segment across.
    drawn = []
    real = Axes.plot
    monkeypatch.setattr(Axes, "plot", lambda self, xs, ys, **kw: drawn.append(list(ys)) or real(self, xs, ys, **kw))
    plotting.write_file(report, str(tmp_path / "abs.png"), 400, 300)
    ys = drawn[1]  # f′
    jump = next(i for i, y in enumerate(ys) if y == 1.0)
    assert ys[jump - 2] == -1.0 and math.isnan(ys[jump - 1])


def test_verify_and_taylor_charts_break_their_lines_where_f_jumps():
    """verify --plot and taylor --plot mark the same branch changes as plot:
    between the two grid points either side of the jump of sign(x), and of floor(x) at 1."""
    from autodiff.commands import api

    chart = api.verify("abs(x)", "sign(x)", over="x=-1:1", points=4, plot=True).chart
    assert chart.switches.tolist() == [False, True, False]
    chart = api.taylor("floor(x) + x", at={"x": 0.5}, order=1, plot=True, over="x=0:2").chart
    changes = chart.switches.nonzero().flatten().tolist()
    import math

    steps = list(zip(chart.x, chart.x[1:]))  # a change where floor or ceil differ across the step: at 0, 1 and 2
    assert [steps[i] for i in changes] == [(x, y) for x, y in steps if (math.floor(x), math.ceil(x)) != (math.floor(y), math.ceil(y))]
    assert len(changes) == 3
