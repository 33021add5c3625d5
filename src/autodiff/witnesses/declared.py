"""Checking a declared derivative (`--derivative "mylog(t) = 1/t"`): the
declared partial against the definition's own derivative, at each call's
arguments and at points around them, so a declaration right only at the
point fails too (`autodiff.language.declared` explains the representation).
"""

from __future__ import annotations

from autodiff.language.declared import calls_in, expand

# Points around an argument value, as multiples of max(1, |value|); the
# second half moves the arguments of a multi-argument call in opposite directions.
_OFFSETS = (-0.5, -0.2, 0.3, 0.6)
_SAMPLES = 4  # elements of a vector point whose arguments are checked


def check(problem) -> list[dict]:
    """One entry per declared function called in `problem` (commands.prepare.Problem),
    per parameter: whether the declared partial equals the definition's
    derivative at each call's arguments and at points around them."""
    if problem.autograd_exprs is None or problem.point is None:
        return []
    import torch

    from autodiff.engine.lowering import compile_expressions

    env = problem.leaves(requires_grad=False, dtype="float64")
    checks: dict[tuple, dict] = {}
    calls = calls_in(problem.autograd_exprs)
    for call in calls:
        definition = call.definition
        arguments = compile_expressions([expand(a) for a in call.args]).outputs(env, torch.float64)
        points = _test_points([a.reshape(-1) for a in arguments])
        for index, param in enumerate(definition.params):
            key = (definition.name, param)
            entry = checks.setdefault(key, _entry(definition, index))
            if entry["agree"] is False:
                continue
            _compare(entry, definition, index, points, problem)
    return list(checks.values())


def _entry(definition, index: int) -> dict:
    from autodiff.language.notation import machine

    return {
        "function": definition.name,
        "parameter": definition.params[index],
        "declared": machine(definition.derivative[index]),
        "definition": None,
        "checked_by": None,
        "points": 0,
        "agree": None,
    }


def _test_points(arguments: list):
    """(m, n) float64 points for a call of n arguments: each sampled element's
    arguments, then points around them."""
    import torch

    size = max(a.numel() for a in arguments)
    elements = sorted({round(i * (size - 1) / max(1, _SAMPLES - 1)) for i in range(min(size, _SAMPLES))})
    rows = []
    for element in elements:
        base = torch.stack([a[element if a.numel() > 1 else 0] for a in arguments])
        scale = base.abs().clamp(min=1.0)
        signs = torch.tensor([(-1.0) ** i for i in range(len(arguments))], dtype=torch.float64)
        rows.append(base)
        rows += [base + offset * scale for offset in _OFFSETS]
        if len(arguments) > 1:
            rows += [base + offset * scale * signs for offset in _OFFSETS]
    return torch.stack(rows)


def _compare(entry: dict, definition, index: int, points, problem) -> None:
    import torch

    from autodiff.engine.lowering import compile_expression
    from autodiff.language.notation import machine

    param = definition.params[index]
    env = {p: points[:, i] for i, p in enumerate(definition.params)}
    declared = compile_expression(definition.derivative[index])(env, torch.float64).expand(points.shape[0])
    reference, how = _definition_derivative(definition, index, env, problem)
    tolerance = problem.tolerance
    if how == "numeric":  # a finite difference is good to about 1e-9 relative
        from autodiff.witnesses.checks import Tolerance

        tolerance = Tolerance(max(tolerance.rtol, 1e-6), max(tolerance.atol, 1e-8))
    else:
        entry["definition"] = machine(reference[1])
        reference = reference[0]
    entry["checked_by"] = how
    usable = torch.isfinite(reference) & ~_kinks(definition, index, env)
    wrong = usable & ~tolerance.close(declared, reference)
    if how == "symbolic" and bool(wrong.any()):
        wrong = _exact_confirms(wrong, definition, index, points, entry, tolerance, problem)
    entry["points"] = max(entry["points"], int(usable.sum()))
    if entry["agree"] is None and bool(usable.any()):
        entry["agree"] = True
    if not bool(wrong.any()):
        return
    row = int(wrong.nonzero()[0])
    from autodiff.text import number_text
    from autodiff.language.notation import show

    where = ", ".join(f"{p} = {number_text(float(points[row, i]))}" for i, p in enumerate(definition.params))
    text = definition.derivative_text  # as the user wrote it, where it is the one partial
    shown = text.strip("[] ") if len(definition.params) == 1 and text else show(entry["declared"])
    entry.update(
        agree=False,
        at={p: float(points[row, i]) for i, p in enumerate(definition.params)},
        declared_value=float(declared[row]),
        definition_value=float(reference[row]),
        message=(
            f"the declared derivative of {definition.name} with respect to {param}, "
            f"{shown}, is wrong: at {where} it gives {number_text(float(declared[row]))}, "
            f"the definition's derivative is {number_text(float(reference[row]))}"
        ),
    )


def _kinks(definition, index: int, env: dict):
    """Where the definition has no derivative along the parameter (a kink: its
    one-sided difference quotients differ), so no declaration can be judged."""
    import torch

    f, t = _along(definition, index, env)
    h = 1e-7 * t.abs().clamp(min=1.0)
    with torch.no_grad():
        here = f(0)
        right, left = (f(h) - here) / h, (here - f(-h)) / h
    scale = torch.maximum(left.abs(), right.abs()).clamp(min=1.0)
    return (right - left).abs() > 1e-3 * scale


def _along(definition, index: int, env: dict):
    """The definition's body as a function of a shift of its `index`-th
    parameter from its values in `env`, and those values."""
    import torch

    from autodiff.engine.lowering import compile_expression

    body = compile_expression(definition.body)
    param = definition.params[index]
    t = env[param]

    def f(shift):
        moved = dict(env)
        moved[param] = t + shift
        return body(moved, torch.float64).expand(t.shape)

    return f, t


def _definition_derivative(definition, index: int, env: dict, problem):
    """((values, tree), "symbolic"), or (values, "numeric") where SymPy is off or fails."""
    import torch

    from autodiff.engine.lowering import compile_expression

    param = definition.params[index]
    if problem.symbolic:
        from autodiff.deadline import SymbolicTimeout, with_deadline
        from autodiff.engine.symbolic import symbolic_derivative

        try:
            tree = with_deadline(lambda: symbolic_derivative(definition.body, [param]), problem.symbolic_timeout)
            values = compile_expression(tree)(env, torch.float64).expand(env[param].shape)
            return (values, tree), "symbolic"
        except (SymbolicTimeout, RecursionError, ArithmeticError, ValueError, TypeError, AttributeError):
            pass
        except Exception as error:  # noqa: BLE001 - UnsupportedError: fall back to finite differences
            from autodiff.errors import AutodiffError

            if not isinstance(error, AutodiffError):
                raise
    f, t = _along(definition, index, env)
    h = 1e-3 * t.abs().clamp(min=1.0)
    values = (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)
    return values, "numeric"


def _exact_confirms(wrong, definition, index, points, entry, tolerance, problem):
    """Where floats disagree, the exact values decide (a rounding error in
    either formula is not a wrong declaration)."""
    if not problem.exact:
        return wrong
    try:
        from autodiff.engine.balls import BallProgram, Budget
        from autodiff.engine.symbolic import symbolic_derivative
    except ImportError:
        return wrong
    param = definition.params[index]
    balls = BallProgram([definition.derivative[index], symbolic_derivative(definition.body, [param])])
    budget = Budget.of(problem.limits)
    confirmed = wrong.clone()
    for row in wrong.nonzero().flatten().tolist()[:8]:
        env = {p: float(points[row, i]) for i, p in enumerate(definition.params)}
        try:
            declared, reference = balls.evaluate(env, budget, problem.limits.max_exact_bits)
        except Exception:  # noqa: BLE001 - the exact witness is optional here
            return wrong
        if declared.finite and reference.finite and declared.tight and reference.tight:
            confirmed[row] = not tolerance.close_float(declared.to_float(), reference.to_float())
            if not confirmed[row]:
                continue
            entry["checked_by"] = "exact"
    return confirmed
