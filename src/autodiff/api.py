"""The library behind every command: parse, lower, differentiate three ways,
compare. The CLI is a thin layer over these functions, and they are the
public Python API.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Union

from autodiff.errors import PointError, UnsupportedError, UsageError
from autodiff.limits import DEFAULT_LIMITS, Limits
from autodiff.points import Point, natural_order, parse_assignments
from autodiff.results import DerivativeResult, GradResult, PartialResult

# torch warns on stderr when NumPy is absent; nothing here uses NumPy.
_warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

PointLike = Union[Point, Mapping[str, object], Sequence[str], None]

DTYPES = ("float64", "float32")


def as_point(at: PointLike, option: str = "--at", limits: Limits = DEFAULT_LIMITS, names=None) -> Optional[Point]:
    """A Point from CLI texts (`["x=3,y=4"]`), a mapping (`{"x": 3}`) or a Point."""
    if at is None or isinstance(at, Point):
        return at
    if isinstance(at, Mapping):
        texts = [f"{name}={_value_text(value)}" for name, value in at.items()]
        return parse_assignments(texts, option, limits)
    return parse_assignments(list(at), option, limits, names)


def _value_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)  # ints stay exact; strings are value expressions ("pi/4")


@dataclass
class _Problem:
    """One expression at one point, lowered, with the settings of a run."""

    expr: object
    point: Optional[Point]
    dtype: str
    grad_output: Optional[list[float]]
    symbolic: bool
    symbolic_timeout: float
    tolerance: object  # checks.Tolerance

    def derivatives(self, sequences: dict[str, list[str]], warnings: list[str]):
        """Value and DerivativeResults for each differentiation sequence."""
        from autodiff.lowering import compile_expression

        if self.point is None:
            symbolic = self._symbolic_derivatives(sequences, warnings)
            return None, {key: DerivativeResult(seq, symbolic=_text(symbolic[key])) for key, seq in sequences.items()}
        weights = self.grad_output_tensor()  # validated before any SymPy or torch work
        program = compile_expression(self.expr)
        symbolic = self._symbolic_derivatives(sequences, warnings)
        value, autograd = self._autograd(program, sequences, weights)
        witnesses = _Witnesses(self, program, weights)
        results = {
            key: witnesses.cross_check(sequence, autograd[key], symbolic[key], warnings)
            for key, sequence in sequences.items()
        }
        return _numbers(value), results

    def leaves(self, requires_grad: bool, dtype: Optional[str] = None):
        import torch

        from autodiff.calculus import make_leaves

        return make_leaves(self.point, list(self.point.values), getattr(torch, dtype or self.dtype), requires_grad)

    def grad_output_tensor(self):
        """The `gradient=` weights for backward, shaped like the point."""
        import torch

        if self.grad_output is None:
            return None
        size = self.point.size
        if len(self.grad_output) not in (1, size or 1):
            raise PointError(f"--grad-output has {len(self.grad_output)} values; the point has {size or 1} element(s)")
        weights = torch.tensor(self.grad_output, dtype=getattr(torch, self.dtype))
        return weights.reshape(()) if size is None else weights.expand(size)

    def _autograd(self, program, sequences, weights):
        import torch

        from autodiff.calculus import derivative, evaluate, gradient

        leaves = self.leaves(requires_grad=True)
        output = evaluate(program, leaves, getattr(torch, self.dtype))
        if all(len(seq) == 1 for seq in sequences.values()):
            by_name = gradient(output, leaves, [seq[0] for seq in sequences.values()], weights)
            derivatives = {key: by_name[seq[0]] for key, seq in sequences.items()}
        else:
            derivatives = {key: derivative(output, leaves, seq, weights) for key, seq in sequences.items()}
        return output.detach(), derivatives

    def _symbolic_derivatives(self, sequences, warnings):
        """sympy.diff for each sequence, all under one deadline; None where unavailable."""
        from autodiff.symbolic import SymbolicTimeout, symbolic_derivative, with_deadline

        if not self.symbolic:
            return {key: None for key in sequences}

        def work():
            derivatives = {key: symbolic_derivative(self.expr, seq) for key, seq in sequences.items()}
            return {key: (d, str(d)) for key, d in derivatives.items()}

        try:
            return with_deadline(work, self.symbolic_timeout)
        except SymbolicTimeout:
            warnings.append(
                f"the symbolic derivative took longer than --symbolic-timeout {self.symbolic_timeout:g} s "
                "and was stopped; finite differences decided agreement"
            )
        except RecursionError:
            warnings.append("the symbolic derivative is too deeply nested for SymPy; finite differences decided agreement")
        except (ArithmeticError, ValueError, TypeError, AttributeError) as error:
            # SymPy is a third-party engine: its failure is a missing witness, not a crash.
            warnings.append(
                f"SymPy could not differentiate this expression ({type(error).__name__}: {error}); "
                "finite differences decided agreement"
            )
        return {key: None for key in sequences}


class _Witnesses:
    """The symbolic and finite-difference sides at one point, set up once."""

    def __init__(self, problem: _Problem, program, weights):
        import torch

        self.problem = problem
        self.program = program
        self.dtype = getattr(torch, problem.dtype)
        self.plain = problem.leaves(requires_grad=False)
        self.float64 = problem.leaves(requires_grad=False, dtype="float64")
        self.weights = weights

    def weighted(self, tensor):
        return tensor if self.weights is None else tensor * self.weights

    def symbolic_value(self, derivative_expr, shape):
        import torch

        from autodiff.lowering import compile_expression

        with torch.no_grad():
            return self.weighted(compile_expression(derivative_expr)(self.plain, self.dtype).expand(shape))

    def cross_check(self, sequence, autograd, symbolic, warnings) -> DerivativeResult:
        import torch

        from autodiff.checks import finite_difference

        tolerance = self.problem.tolerance
        result = DerivativeResult(list(sequence), autograd=_numbers(autograd))
        symbolic_value = None
        if symbolic is not None:
            derivative_expr, result.symbolic = symbolic
            try:
                symbolic_value = self.symbolic_value(derivative_expr, autograd.shape)
                result.symbolic_value = _numbers(symbolic_value)
            except UnsupportedError as error:
                warnings.append(f"the symbolic derivative {result.symbolic} could not be evaluated: {error.message}")

        witness = finite_difference(self.program, self.float64, sequence)
        if self.weights is not None:
            weights = self.weights.to(torch.float64)
            witness.estimate, witness.rounding = witness.estimate * weights, (witness.rounding * weights).abs()
        result.numeric = _numbers(witness.estimate)
        numeric_tolerance = tolerance.for_finite_differences(len(sequence))
        result.numeric_agree = bool(witness.agrees_with(autograd, numeric_tolerance).all())

        if symbolic_value is not None:
            result.agree = bool(tolerance.close(autograd, symbolic_value).all())
            if result.agree and not result.numeric_agree:
                warnings.append(_finite_difference_warning(sequence, witness))
        else:
            result.agree = result.numeric_agree
        return result


def _finite_difference_warning(sequence, witness) -> str:
    import torch

    label = "".join(sequence)
    if not bool(torch.isfinite(witness.estimate).all()):
        return f"finite differences for {label} are not finite: the function is not finite near the point"
    return (
        f"finite differences disagree with autograd and symbolic for {label} "
        "(a kink, a discontinuity or a steep function near the point?)"
    )


def _text(symbolic) -> Optional[str]:
    return None if symbolic is None else symbolic[1]


def _numbers(tensor):
    """A 0-d tensor as a float, a vector as a list of floats."""
    if tensor is None:
        return None
    values = tensor.detach().double()
    return values.item() if values.dim() == 0 else values.tolist()


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
        actual = torch.tensor(result.autograd, dtype=torch.float64)
        wanted = torch.tensor(expected, dtype=torch.float64)
        if wanted.dim() and wanted.shape != actual.shape:
            raise PointError(
                f"--expect gives {wanted.numel()} values for {name}; the point has {actual.numel() or 1} element(s)"
            )
        result.expect_met = bool(tolerance.close(actual, wanted.expand_as(actual)).all())


@dataclass(frozen=True)
class _Options:
    """The options every command shares (design §4)."""

    dtype: str = "float64"
    grad_output: Optional[Sequence[float]] = None
    symbolic: bool = True
    symbolic_timeout: float = 5.0
    rtol: Optional[float] = None
    atol: Optional[float] = None
    limits: Limits = DEFAULT_LIMITS


def _prepare(expression: str, at: PointLike, wrt: Optional[Sequence[str]], expect: PointLike, options: _Options):
    """Parse and validate everything before torch is imported (errors stay fast)."""
    from autodiff.parsing import parse_expression, sympy_work

    if options.dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, not {options.dtype!r}")
    expr = parse_expression(expression, options.limits)
    text = sympy_work(lambda: _printed(expr), expression, options.limits)
    point = as_point(at, "--at", options.limits)
    if point is None and (expect is not None or options.grad_output):
        raise UsageError(f"--{'expect' if expect is not None else 'grad-output'} needs a point: add --at")
    variables = {symbol.name for symbol in expr.free_symbols}
    if point is not None:
        missing = natural_order((variables | set(wrt or ())) - set(point.values))
        if missing:
            given = ",".join(f"{name}=…" for name in missing)
            raise PointError(f"no value for {', '.join(missing)}; add --at {given}")

    from autodiff.checks import Tolerance  # imports torch

    tolerance = Tolerance.for_dtype(options.dtype, options.rtol, options.atol)
    grad_output = list(options.grad_output) if options.grad_output else None
    problem = _Problem(
        expr, point, options.dtype, grad_output, options.symbolic, options.symbolic_timeout, tolerance
    )
    return expr, text, point, problem


def _printed(expr) -> str:
    try:
        return str(expr)
    except (ArithmeticError, ValueError, TypeError, AttributeError) as error:
        # SymPy orders terms by evaluating constants; some it cannot (hypot(2, gamma(-oo))).
        raise UnsupportedError(f"SymPy cannot print this expression ({type(error).__name__})") from None


def _report_fields(expr, text: str, point, problem: _Problem, value, results, warnings) -> dict:
    """The fields every point result shares."""
    symbolic_used = any(r.symbolic_value is not None for r in results.values())
    return {
        "expression": text,
        "variables": natural_order(symbol.name for symbol in expr.free_symbols),
        "at": None if point is None else dict(point.values),
        "value": value,
        "checked_by": None if point is None else ("symbolic" if symbolic_used else "numeric"),
        "warnings": warnings,
        "dtype": problem.dtype,
    }


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

    Options: dtype, grad_output, symbolic, symbolic_timeout, rtol, atol, limits.
    """
    settings = _Options(**options)
    if not 1 <= order <= settings.limits.max_order:
        raise UsageError(f"--order must be between 1 and {settings.limits.max_order}, not {order}")
    if wrt and len(set(wrt)) != len(wrt):
        raise UsageError(f"--wrt names a variable twice: {','.join(wrt)}")
    expr, text, point, problem = _prepare(expression, at, wrt, expect, settings)
    variables = {symbol.name for symbol in expr.free_symbols}
    names = list(wrt) if wrt else natural_order(variables | set(point.values if point else ()))
    warnings: list[str] = []
    value, results = problem.derivatives({name: [name] * order for name in names}, warnings)
    if expect is not None:
        _check_expectations(results, as_point(expect, "--expect", settings.limits, names), problem.tolerance)
    return GradResult(order=order, gradient=results, **_report_fields(expr, text, point, problem, value, results, warnings))


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

    Options: dtype, grad_output, symbolic, symbolic_timeout, rtol, atol, limits.
    """
    settings = _Options(**options)
    if wrt and len(wrt) > settings.limits.max_order:
        raise UsageError(f"--wrt asks for order {len(wrt)}; the limit is {settings.limits.max_order}")
    expr, text, point, problem = _prepare(expression, at, wrt, expect, settings)
    if not wrt:
        variables = natural_order(symbol.name for symbol in expr.free_symbols)
        if len(variables) != 1:
            raise UsageError(
                f"partial needs --wrt for a function of {', '.join(variables) or 'no variables'}; e.g. --wrt "
                + ",".join(variables[:2] or ["x"])
            )
        wrt = variables
    warnings: list[str] = []
    value, results = problem.derivatives({PARTIAL: list(wrt)}, warnings)
    if expect is not None:
        _check_expectations(results, as_point(expect, "--expect", settings.limits, [PARTIAL]), problem.tolerance)
    return PartialResult(partial=results[PARTIAL], **_report_fields(expr, text, point, problem, value, results, warnings))


PARTIAL = "partial"  # the key of the one derivative in `partial`'s results
