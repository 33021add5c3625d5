"""The public Python API: one function per command, each preparing its
input (autodiff.commands.prepare), asking the derivative core, and
returning a result object (autodiff.results). The CLI is a thin layer over
these functions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Union

import autodiff.commands.prepare as preparation
from autodiff.commands import scalar  # its symbolic_derivative, looked up at each call (tests replace it)
from autodiff.commands.prepare import (  # noqa: F401  (definitions, estimated_bytes: the API's names too)
    GRAPH_BYTES,
    HESSIAN_BYTES,
    JACOBIAN_BYTES,
    Options,
    PointLike,
    Prepared,
    as_names,
    as_point,
    check_distinct,
    check_memory,
    check_order,
    definitions,
    estimated_bytes,
    prepare,
    with_definitions,
)
from autodiff.errors import LimitError, PointError, UsageError
from autodiff.language.functions import CONSTANTS_BY_NAME
from autodiff.limits import raise_hint
from autodiff.points import Point
from autodiff.results import (
    DerivativeResult,
    GradResult,
    GraphReport,
    HessianResult,
    JacobianResult,
    PartialResult,
    PlotReport,
    as_tensor,
    numbers,
)
from autodiff.witnesses.verdict import Witnesses, plot_curve


def _check_expectations(results: dict[str, DerivativeResult], expect: Point, tolerance) -> None:
    import torch

    for name, expected in expect.values.items():
        if name not in results:
            if list(results) == [PARTIAL]:
                raise UsageError("partial's --expect is one value (a vector for a vector point), without a name")
            raise UsageError(f"--expect names {name}, which is not among the derivatives ({', '.join(results)})")
        result = results[name]
        result.expected = expected
        if result.autograd is None:
            continue
        actual = as_tensor(result.autograd, torch.float64)
        wanted = as_tensor(expected, torch.float64)
        if wanted.dim() and wanted.shape != actual.shape:
            raise PointError(
                f"--expect gives {wanted.numel()} values for {name}; the point has {actual.numel() or 1} element(s)"
            )
        result.expect_met = bool(tolerance.close(actual, wanted.expand_as(actual)).all())


@with_definitions
def grad(
    expression: str,
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    order: int = 1,
    expect: PointLike = None,
    **options,
) -> GradResult:
    """Value and first partials of `expression` at `at`, or its `order`-th
    pure partials; without `at`, the symbolic derivatives alone.

    Options: dtype, grad_output, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define,
    engine ("auto", "taylor" or "autograd": what takes an order ≥ 2), budget (a calculus.Budget shared
    with other calls of one command: one count of graph nodes).
    """
    wrt = as_names(wrt)
    settings = Options(**options)
    if order < 1:
        raise UsageError(f"--order must be at least 1, not {order}")
    check_order(order, settings.limits)
    check_distinct(wrt)
    answered = scalar.grad(expression, at, expect, order, wrt, settings)
    if answered is not None:  # one point of plain numbers, nothing to explain: the scalar path
        return answered
    prepared = prepare(expression, at, wrt, expect, settings)
    names = prepared.columns(wrt)
    warnings: list[str] = []
    value, results, witnesses = prepared.problem.derivatives({name: [name] * order for name in names}, warnings)
    if expect is not None:
        _check_expectations(results, as_point(expect, "--expect", settings.limits, names, settings.scope), prepared.problem.tolerance)
    fields = prepared.fields(value, list(results.values()), warnings, witnesses)
    return GradResult(order=order, gradient=results, **fields)


@with_definitions
def partial(
    expression: str,
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    expect: PointLike = None,
    **options,
) -> PartialResult:
    """One partial derivative; `wrt` is the differentiation sequence, as in
    sympy.diff(f, *wrt): ["u", "v"] is ∂²f/∂v∂u, ["x", "x", "x"] is f‴.

    Options: dtype, grad_output, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define,
    engine ("auto", "taylor" or "autograd": what takes an order ≥ 2), budget (a calculus.Budget shared
    with other calls of one command: one count of graph nodes).
    """
    wrt = as_names(wrt)
    settings = Options(**options)
    if wrt:
        check_order(len(wrt), settings.limits, "--wrt")
    prepared = prepare(expression, at, wrt, expect, settings)
    if not wrt:
        variables = [v for v in prepared.variables if v not in settings.frozen]
        if len(variables) != 1:
            raise UsageError(
                f"partial needs --wrt for a function of {', '.join(variables) or 'no variables'}; e.g. --wrt "
                + ",".join(variables[:2] or ["x"])
            )
        wrt = variables
    warnings: list[str] = []
    value, results, witnesses = prepared.problem.derivatives({PARTIAL: list(wrt)}, warnings)
    if expect is not None:
        _check_expectations(results, as_point(expect, "--expect", settings.limits, [PARTIAL], settings.scope), prepared.problem.tolerance)
    fields = prepared.fields(value, list(results.values()), warnings, witnesses)
    return PartialResult(partial=results[PARTIAL], **fields)


PARTIAL = "partial"  # the key of the one derivative in `partial`'s results


@with_definitions
def hessian(
    expression: str,
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    expect=None,
    **options,
) -> HessianResult:
    """The Hessian of `expression` at `at`: autograd (reverse over reverse)
    beside SymPy and finite differences, with symmetry, eigenvalues,
    definiteness and, where the gradient is zero, the kind of critical point.
    Columns are `wrt`, or every variable in natural order. Without `at`, the
    symbolic Hessian alone. `expect`: a matrix, [[4, 2], [2, 12]] or "4,2,2,12".

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    wrt = as_names(wrt)
    settings = Options(**options)
    check_distinct(wrt)
    prepared = prepare(expression, at, wrt, expect, settings)
    names = _matrix_columns(prepared, wrt, rows=None, settings=settings)
    problem, n = prepared.problem, len(names)
    expected = _expected_matrix(expect, (n, n), settings)
    upper = [(i, j) for i in range(n) for j in range(i, n)]
    warnings: list[str] = []

    def symbolic_hessian():
        from autodiff.engine.symbolic import symbols_of

        symbols = symbols_of(problem.exprs)
        first = [preparation.symbolic_derivative(problem.expr, [name], symbols) for name in names]
        return [preparation.symbolic_derivative(first[i], [names[j]], symbols) for i, j in upper]

    by_entry = dict(zip(upper, problem.symbolic_derivatives(symbolic_hessian, len(upper), warnings)))
    cells = [(i, j) for i in range(n) for j in range(n)]
    tasks = [(0, [names[i], names[j]]) for i, j in cells]
    symbolic = [by_entry[min(i, j), max(i, j)] for i, j in cells]  # Schwarz: mirror the upper triangle
    fields = {"rows": names, "columns": names}
    if problem.point is None:
        entries = _square(problem.symbolic_only(tasks, symbolic), n)
        return HessianResult(entries=entries, **fields, **prepared.fields(None, [], warnings))

    import torch

    from autodiff.engine.calculus import hessian as autograd_hessian, on_device

    program = problem.program()
    with on_device(problem.device):
        value, gradient, matrix = autograd_hessian(
            problem.autograd_program(program), problem.point, list(problem.point.values), names, getattr(torch, problem.dtype)
        )
    value, gradient, matrix = value.cpu(), gradient.cpu(), matrix.cpu()
    autograd = list(matrix.flatten(0, 1).unbind(0))  # cells in row-major order
    witnesses = Witnesses(problem, program)
    results = witnesses.cross_check(tasks, autograd, symbolic, warnings, [value])
    entries = _square(results, n)
    _meet_expectations(entries, expected, problem.tolerance)
    from autodiff.engine.curvature import Curvature

    curvature = Curvature(matrix, gradient, problem.tolerance)
    return HessianResult(
        entries=entries,
        gradient=[numbers(g) for g in gradient],
        symmetric=curvature.symmetric,
        eigenvalues=curvature.eigenvalues,
        definiteness=curvature.definiteness,
        critical_point=curvature.critical_point,
        **fields,
        **prepared.fields(numbers(value), results, warnings, witnesses),
    )


@with_definitions
def jacobian(
    expressions: Union[str, Sequence[str]],
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    expect=None,
    **options,
) -> JacobianResult:
    """The Jacobian ∂f_i/∂x_j of `[f1, f2, ...]` (a string, or a list of
    expression strings) at `at`, autograd beside SymPy and finite
    differences. Columns are `wrt`, or every variable in natural order.
    Without `at`, the symbolic Jacobian alone. `expect`: a matrix.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    wrt = as_names(wrt)
    settings = Options(**options)
    check_distinct(wrt)
    if not isinstance(expressions, str):
        expressions = list(expressions)
        if not expressions or not all(isinstance(e, str) for e in expressions):
            raise UsageError("jacobian needs a list of expression strings, or one string \"[f1, f2]\"")
    prepared = prepare(expressions, at, wrt, expect, settings, many=True)
    problem = prepared.problem
    names = _matrix_columns(prepared, wrt, rows=len(problem.exprs), settings=settings)
    expected = _expected_matrix(expect, (len(problem.exprs), len(names)), settings)
    tasks = [(k, [name]) for k in range(len(problem.exprs)) for name in names]
    warnings: list[str] = []

    def symbolic_jacobian():
        from autodiff.engine.symbolic import symbols_of

        symbols = symbols_of(problem.exprs)
        return [preparation.symbolic_derivative(problem.exprs[k], sequence, symbols) for k, sequence in tasks]

    symbolic = problem.symbolic_derivatives(symbolic_jacobian, len(tasks), warnings)
    fields = {"rows": prepared.texts, "columns": names}
    if problem.point is None:
        entries = _square(problem.symbolic_only(tasks, symbolic), len(names))
        return JacobianResult(entries=entries, **fields, **prepared.fields(None, [], warnings))

    import torch

    from autodiff.engine.calculus import jacobian as autograd_jacobian, on_device

    program = problem.program()
    with on_device(problem.device):
        values, matrix = autograd_jacobian(
            problem.autograd_program(program), problem.point, list(problem.point.values), names, getattr(torch, problem.dtype)
        )
    values, matrix = values.cpu(), matrix.cpu()
    autograd = list(matrix.flatten(0, 1).unbind(0))  # (k, j) in row-major order
    witnesses = Witnesses(problem, program)
    results = witnesses.cross_check(tasks, autograd, symbolic, warnings, list(values))
    entries = _square(results, len(names))
    _meet_expectations(entries, expected, problem.tolerance)
    value = [numbers(v) for v in values]
    return JacobianResult(entries=entries, **fields, **prepared.fields(value, results, warnings, witnesses))


def _matrix_columns(prepared: Prepared, wrt, rows: Optional[int], settings: Options) -> list[str]:
    names = prepared.columns(wrt)
    if not names:
        raise UsageError("the expression has no variables to differentiate by; name them with --wrt or --at")
    entries = (rows or len(names)) * len(names)
    if entries > settings.limits.max_matrix_entries:
        raise LimitError(
            f"the matrix would have {entries} entries, more than the limit of {settings.limits.max_matrix_entries}; "
            f"choose fewer variables with --wrt, or {raise_hint('matrix-entries', entries)}"
        )
    point = prepared.problem.point
    check_memory(prepared.problem.exprs, point.size if point is not None else None, settings.limits, copies=entries,
                  **(HESSIAN_BYTES if rows is None else JACOBIAN_BYTES))
    values = entries * (point.size or 1) if point is not None else 0
    if values > settings.limits.max_matrix_values:
        raise LimitError(
            f"{entries} entries at {point.size} points are {values} numbers, more than the limit of "
            f"{settings.limits.max_matrix_values}; choose fewer variables with --wrt or fewer points, "
            f"or {raise_hint('matrix-values', values)}"
        )
    return names


def _square(results: list, columns: int) -> list[list]:
    return [results[start : start + columns] for start in range(0, len(results), columns)]


def _expected_matrix(expect, shape: tuple[int, int], settings: Options) -> Optional[list[list[float]]]:
    """The expected matrix, parsed before any heavy work: a text (`[[4,2],[2,12]]`,
    `4,2,2,12`), texts that are its rows, or nested numbers."""
    from autodiff.engine.values import parse_matrix

    if expect is None:
        return None
    if isinstance(expect, str):
        return parse_matrix(expect, "--expect", shape, settings.limits, settings.scope)
    if isinstance(expect, (list, tuple)) and expect and all(isinstance(e, str) for e in expect):
        # One text is the matrix; several are its rows (`-e [4,2] -e [2,12]`).
        text = expect[0] if len(expect) == 1 else "[" + ",".join(expect) + "]"
        return parse_matrix(text, "--expect", shape, settings.limits, settings.scope)
    try:
        expected = [[float(v) for v in row] for row in expect]
    except (TypeError, ValueError):
        expected = None
    if expected is None or [len(row) for row in expected] != [shape[1]] * shape[0]:
        raise PointError(f"expect must be a {shape[0]}×{shape[1]} matrix")
    return expected


def _meet_expectations(entries: list[list[DerivativeResult]], expected, tolerance) -> None:
    """Compare each entry's autograd value with the expected matrix (the same at every point)."""
    import torch

    if expected is None:
        return
    for row, wanted_row in zip(entries, expected):
        for entry, wanted in zip(row, wanted_row):
            entry.expected = wanted
            actual = as_tensor(entry.autograd, torch.float64)
            entry.expect_met = bool(tolerance.close(actual, as_tensor(wanted, torch.float64).expand_as(actual)).all())


@with_definitions
def graph(expression: str, at: PointLike, **options) -> GraphReport:
    """The autograd graph of `expression` at `at`: grad_fn nodes from the
    output back to the leaves, each tensor's data, requires_grad, is_leaf,
    grad_fn and (after backward on the output, weighted by ones) grad.

    Options: limits, define.
    """
    settings = Options(**options)
    if at is None:
        raise UsageError("graph needs a point to run the forward pass: add --at")
    prepared = prepare(expression, at, None, None, settings)
    problem = prepared.problem
    check_memory(problem.exprs, problem.point.size, settings.limits, **GRAPH_BYTES)
    from autodiff.engine.tracing import trace

    nodes, output, leaves, value = trace(problem.autograd_program(problem.program()), problem.point,
                                         list(problem.point.values), problem.frozen)
    warnings = []
    if output is None:
        warnings.append("the output does not require grad (a constant, or everything detached): there is no graph")
    fields = prepared.fields(numbers(value), [], warnings)
    del fields["checked_by"], fields["dtype"], fields["declared"]
    return GraphReport(nodes=nodes, output=output, leaves=leaves, **fields)


@with_definitions
def plot(
    expression: str,
    *,
    over: Optional[str] = None,
    points: int = 400,
    order: int = 1,
    at: PointLike = None,
    **options,
) -> PlotReport:
    """f and its first `order` derivatives over the range `over` ("x=-5:5"; default
    -5:5 of the one free variable), the others fixed by `at`. Autograd
    differentiates the whole grid at once (backward on the sum); the symbolic
    derivative is evaluated on the same grid and compared.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    from autodiff.engine.values import parse_range
    from autodiff.points import grid

    settings = Options(**options)
    if not 1 <= order <= 3:
        raise UsageError(f"--order must be 1, 2 or 3 for plot, not {order}")
    if points < 2:
        raise UsageError(f"--points must be at least 2, not {points}")
    if points > settings.limits.max_points:
        raise LimitError(
            f"--points {points} is more than the limit of {settings.limits.max_points} ({raise_hint('points', points)})"
        )
    name, start, stop = parse_range(over, "--range", settings.limits, settings.scope) if over else ("", -5.0, 5.0)
    fixed = as_point(at, "--at", settings.limits, scope=settings.scope)
    if fixed is not None and fixed.size is not None:
        raise PointError("plot fixes the other variables at single values; --at takes no vectors here")
    # Parsed without a point (the grid is built below); `symbolic=True` only
    # because prepare refuses "no --at and --no-symbolic", which plot allows.
    prepared = prepare(expression, None, None, None, replace(settings, symbolic=True))
    if name in CONSTANTS_BY_NAME:
        raise UsageError(f"--range names {name}, which is a constant, not a variable")
    if not name:
        free = [v for v in prepared.variables if fixed is None or v not in fixed.values]
        if len(free) > 1:
            raise UsageError(f"plot draws one variable; choose it with --range, e.g. --range {free[0]}=-5:5")
        name = free[0] if free else "x"
    if name in settings.frozen:
        raise UsageError(f"plot draws the derivative with respect to {name}, which is frozen (--frozen {name})")
    others = {} if fixed is None else {k: v for k, v in fixed.values.items() if k != name}
    missing = [v for v in prepared.variables if v != name and v not in others]
    if missing:
        raise PointError(f"no value for {', '.join(missing)}; add --at {','.join(f'{v}=…' for v in missing)}")
    check_memory(prepared.problem.exprs, points, settings.limits, copies=order)
    values = grid(start, stop, points)
    point = Point({name: values, **others})
    problem = replace(prepared.problem, point=point, symbolic=settings.symbolic)
    warnings: list[str] = []
    sequences = [[name] * k for k in range(1, order + 1)]
    symbolic = problem.symbolic_derivatives(
        lambda: [preparation.symbolic_derivative(problem.expr, sequence) for sequence in sequences], order, warnings
    )
    import torch

    program = problem.program()
    f, by_order = problem.autograd(problem.autograd_program(program), dict(enumerate(sequences, start=1)))
    # clone: the materialized zero gradient of a kink has no storage of its own
    derivatives = [by_order[k].clone() for k in range(1, order + 1)]
    curves = []
    witnesses = Witnesses(problem, program)
    domains = len(warnings)  # where the domain warnings go, once the exact witness has said where f only overflowed
    exact = witnesses.symbolic_values(symbolic, (points,), warnings)
    for k, derivative in enumerate(derivatives, start=1):
        curves.append(plot_curve(k, derivative, symbolic[k - 1], exact[k - 1], problem.tolerance))
    real_f = witnesses.judge_curves(curves, symbolic, name, values, f, warnings)
    undefined = (~torch.isfinite(f) & ~real_f).unsqueeze(0)
    if bool(undefined.any()):
        warnings[domains:domains] = witnesses.domain_warnings([(0, [name])], [f], undefined, "the curves have gaps there")
    for curve in curves:
        if curve.get("symbolic_missing"):
            count = curve["symbolic_missing"]
            warnings.append(
                f"{curve['label']}: SymPy's {curve['symbolic']} has no value at {count} point{'s' if count > 1 else ''} "
                "where autograd has one (a switch point of a kink?); not compared there"
            )
    checked = "symbolic" if all(c["symbolic_values"] is not None for c in curves) else None
    # plot makes no finite-difference check: without SymPy the curves are not compared.
    warnings = [w.replace("finite differences decided agreement", "the curves are not compared") for w in warnings]
    return PlotReport(
        expression=prepared.text, variable=name, start=start, stop=stop, at=others, x=values, f=numbers(f),
        curves=curves, checked_by=checked, warnings=warnings, tree=problem.expr,
        switches=_branch_changes(problem.expr, name, values, others),
    )


def _branch_changes(expr, name: str, values, others: dict):
    """Where a switch of f changes branch between neighbouring grid points (PlotReport.switches)."""
    import torch

    from autodiff.witnesses.kinks import branch_changes

    env = {key: torch.as_tensor(value, dtype=torch.float64) for key, value in others.items()}
    env[name] = values.tensor(torch.float64)
    return branch_changes([expr], env, len(values))


@with_definitions
def minimize(expression: str, start: PointLike = None, **options):
    """Gradient descent and torch.optim's optimisers from `start`, side by
    side, beside the critical points SymPy finds (autodiff.minimize).

    Options: optimizer, lr, steps, tol, maximize, expect, record, dtype,
    symbolic, symbolic_timeout, rtol, atol, limits, define.
    """
    from autodiff.commands.minimize import minimize as run

    return run(expression, start, **options)


def taylor(expression: str, at: PointLike, *, order: int = 4, **options):
    """The Taylor coefficients f⁽ᵅ⁾(a)/α! of `expression` about `at` up to
    total degree `order`, from Taylor mode, each judged by its exact value
    (FLINT's ball series), beside nested autograd and SymPy's exact ones (a
    taylor.TaylorResult). `plot=True, over="x=-1:1"` adds the curves.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define, budget.
    """
    from autodiff.commands.taylor import taylor as expand

    return expand(expression, at, order=order, **options)


def verify(expression: str, derivative: str, **options):
    """Check `derivative`, claimed to be the derivative of `expression`
    (`wrt=`, `order=`), over `over="x=-5:5"` (`points=`) or at `at=`: a
    verify.VerifyResult whose `right` is the verdict.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, define.
    """
    from autodiff.commands.verify import verify as check

    return check(expression, derivative, **options)
