"""The witnesses that judge autograd's answer, and the verdict.

`Witnesses.cross_check` takes autograd's derivatives at a point and sets
beside them the symbolic derivative's float value, a finite difference
(`checks`), and the exact value in ball arithmetic (`exact`); then it
decides, derivative by derivative, whether autograd is right, and explains
every point it leaves out (outside f's domain, a kink, an infinity).
"""

from __future__ import annotations

import math
from typing import Optional

from autodiff.errors import LimitError, UnsupportedError
from autodiff.results import EXACT_KEYS, DerivativeResult, Values, numbers
from autodiff.text import derivative_label, exact_text, number_text, subscript
from autodiff.witnesses.warnings import Warnings, capped_warnings, digits_text, finite_difference_warning, more_points, shown

EXACT_FIELDS = [key for key in EXACT_KEYS if key != "cause"]  # per element; the cause is one per derivative

# Beyond this many elements, a vector point's witnesses (symbolic values and
# finite differences) are computed at an evenly spaced sample of this many
# elements; autograd, f and the domain and kink checks cover every element.
WITNESS_POINTS = 10_000


class Witnesses(Warnings):
    """The symbolic and finite-difference sides at one point, set up once."""

    def __init__(self, problem, program, weights=None):
        import torch

        self.problem = problem
        self.program = program
        self.dtype = getattr(torch, problem.dtype)
        self.plain = problem.leaves(requires_grad=False)
        # float64 leaves for finite differences: the same tensors when the point is float64 already.
        self.float64 = self.plain if self.dtype == torch.float64 else problem.leaves(False, dtype="float64")
        self.weights = weights
        self.value_checks: list[dict] = []  # per output, f's exact value (set by cross_check)

    def sample(self, size: Optional[int]) -> Optional[range]:
        """The elements the witnesses are computed at: all (None), or, beyond
        WITNESS_POINTS elements, every step-th from the first."""
        if size is None or size <= WITNESS_POINTS:
            return None
        return range(0, size, -(-size // WITNESS_POINTS))

    def at(self, sample: Optional[range]) -> "Witnesses":
        """These witnesses at the sampled elements only (themselves for None)."""
        if sample is None:
            return self
        import torch

        index = torch.arange(sample.start, sample.stop, sample.step)

        def take(tensor):
            return tensor if tensor is None or tensor.dim() == 0 else tensor[..., index]

        sampled = object.__new__(Witnesses)
        sampled.problem, sampled.program, sampled.dtype = self.problem, self.program, self.dtype
        sampled.plain = {name: take(tensor) for name, tensor in self.plain.items()}
        sampled.float64 = {name: take(tensor) for name, tensor in self.float64.items()}
        sampled.weights = take(self.weights)
        sampled.value_checks = []
        return sampled

    def weighted(self, tensor):
        return tensor if self.weights is None else tensor * self.weights

    def symbolic_values(self, derivatives, shape, warnings) -> list:
        """Each symbolic derivative evaluated at the point (None where there is none),
        all in one compiled program."""
        from autodiff.engine.lowering import compile_expressions

        present = [index for index, d in enumerate(derivatives) if d is not None]
        values: list = [None] * len(derivatives)
        if not present:
            return values
        try:
            program = compile_expressions([derivatives[index][0] for index in present])
        except UnsupportedError:
            # Find the derivatives torch cannot evaluate (each once: a Hessian
            # mirrors its entries); evaluate the others.
            evaluated: dict = {}
            for index in present:
                expr, text = derivatives[index]
                if expr not in evaluated:
                    try:
                        evaluated[expr] = self._evaluate(compile_expressions([expr]), shape)[0]
                    except UnsupportedError as error:
                        evaluated[expr] = None
                        warnings.append(f"the symbolic derivative {text} could not be evaluated: {error.message}")
                values[index] = evaluated[expr]
            return values
        for index, value in zip(present, self._evaluate(program, shape)):
            values[index] = value
        return values

    def _evaluate(self, program, shape):
        import torch

        with torch.no_grad():
            return [self.weighted(out.expand(shape)) for out in program.outputs(self.plain, self.dtype)]

    def cross_check(self, tasks, autograd: list, symbolic: list, warnings, f_values: list) -> list[DerivativeResult]:
        """Judge each task's autograd value: against the exact value (ball
        arithmetic) where there is one, else the float symbolic value, else
        a finite difference, element by element; all tasks at once, as
        tensors with a task dimension. Every witness's value is reported.

        Not compared (design §6), each with a warning: points where f is not
        finite (outside its domain), points where the derivative does not
        exist (a kink: left and right derivatives differ), and points where
        the derivative is not finite on every side that computed it.
        `f_values`: each output's value at the point.
        """
        import torch

        from autodiff.witnesses.checks import Tolerance, finite_differences
        from autodiff.witnesses.kinks import find_kinks

        if not tasks:  # nothing to differentiate (taylor to order 0, a constant): f's exact value alone
            shape = tuple(torch.broadcast_shapes(*(f.shape for f in f_values)))
            sample = self.sample(shape[0] if shape else None)
            sampled_shape = shape if sample is None else (len(sample),)
            exact_side = self.exact_side([], [], self.at(sample), sampled_shape)
            self.value_checks = self._value_checks(exact_side, f_values, sample, warnings)
            return []
        tolerance = self.problem.tolerance
        # (tasks, *shape): a vector point's one task as a view, not a copy of its 80 MB.
        single = len(autograd) == 1 and autograd[0].dim() > 0 and autograd[0].is_contiguous()
        values = (autograd[0].unsqueeze(0) if single else torch.stack(autograd)).to(torch.float64)
        shape = values.shape[1:]
        per_task = (len(tasks), *([1] * len(shape)))
        # On a large vector point the witnesses run at a sample of its elements.
        sample = self.sample(shape[0] if shape else None)
        sampled = self.at(sample)

        def at_sample(tensor):  # a (tasks, *shape) tensor's sampled elements
            return tensor if sample is None else tensor[:, sample.start : sample.stop : sample.step]

        values_s = at_sample(values)
        witness = finite_differences(self.program, sampled.float64, tasks)
        if sampled.weights is not None:
            weights = sampled.weights.to(torch.float64)
            witness.estimate, witness.rounding = witness.estimate * weights, (witness.rounding * weights).abs()
        symbolic_values = sampled.symbolic_values(symbolic, values_s.shape[1:], warnings)
        present = {index for index, value in enumerate(symbolic_values) if value is not None}
        symbolic_s = torch.full_like(values_s, torch.nan)
        for index in present:
            symbolic_s[index] = symbolic_values[index].to(torch.float64)

        f_defined = [_finite(f.detach().to(torch.float64)).expand(shape) for f in f_values]
        undefined = torch.stack([~f_defined[output] for output, _ in tasks])
        exact_side = self.exact_side(tasks, symbolic, sampled, values_s.shape[1:])
        exact_tensors = None
        nondifferentiable = torch.zeros_like(undefined)
        if exact_side is not None:
            exact_tensors = exact_side.tensors(values_s.shape[1:])
            known, indeterminate = exact_tensors.known, exact_tensors.indeterminate
            # f overflowed or cancelled (inf − inf) in floats but has a true value: it is defined there.
            at_sample(undefined)[...] &= ~exact_tensors.real_f[[output for output, _ in tasks]]
            at_sample(nondifferentiable)[...] = exact_tensors.nondifferentiable & ~at_sample(undefined)
        else:
            known = indeterminate = torch.zeros_like(values_s, dtype=torch.bool)
        limits = self.problem.limits
        try:
            kinks = find_kinks(
                self.program, self.problem.exprs, self.float64, tasks, self.weights, limits.max_autograd_seconds,
                limits.max_graph_nodes,
            )
        except LimitError:
            if self.problem.answered_by == "autograd":
                raise
            kinks = None  # Taylor mode answered: the one-sided derivatives (nested autograd) are past graph-nodes
            warnings.append("the one-sided derivatives at a kink were not taken: nested autograd to this order "
                            "would pass the limit graph-nodes")
        if kinks is not None:  # where f is undefined, its "kinks" are artefacts (log|x| at 0)
            kinks.mask &= ~undefined.reshape(kinks.mask.shape)
        kinked = torch.zeros_like(undefined) if kinks is None else kinks.mask.view(undefined.shape)
        nondifferentiable &= ~kinked
        # Infinite: autograd is, and so is symbolic where it was evaluated, and there is no exact value.
        infinite = ~_finite(values) & ~undefined & ~kinked & ~nondifferentiable
        at_sample(infinite)[...] &= ~torch.isfinite(symbolic_s) & ~known
        # At a switch SymPy may have no value where the derivative exists
        # (2*y*DiracDelta(x) at x = 0, y = 0): no comparison with nothing.
        at_switch = torch.zeros_like(undefined) if kinks is None else kinks.candidates.view(undefined.shape)
        with_symbolic = torch.tensor([index in present for index in range(len(tasks))]).view(per_task)
        no_symbolic = torch.zeros_like(undefined)
        at_sample(no_symbolic)[...] = (
            at_sample(at_switch) & with_symbolic & torch.isnan(symbolic_s) & torch.isfinite(values_s)
            & ~at_sample(undefined) & ~at_sample(kinked) & ~at_sample(nondifferentiable) & ~known
        )
        missing = undefined | kinked | infinite | nondifferentiable  # the derivative does not exist
        excluded = missing | no_symbolic
        excluded_s = at_sample(excluded)

        def verdicts(close):
            flat_close, flat_excluded = close.reshape(len(tasks), -1), excluded_s.reshape(len(tasks), -1)
            ok = (flat_close | flat_excluded).all(dim=1).tolist()
            compared = (~flat_excluded).any(dim=1).tolist()
            return [verdict if any_compared else None for verdict, any_compared in zip(ok, compared)]

        # Each task's finite-difference tolerance depends on its order: one per row.
        loose = [tolerance.for_finite_differences(len(sequence)) for _, sequence in tasks]
        rtol = torch.tensor([t.rtol for t in loose], dtype=torch.float64).view(per_task)
        atol = torch.tensor([t.atol for t in loose], dtype=torch.float64).view(per_task)
        numeric_close = witness.agrees_with(values_s, Tolerance(rtol, atol))
        numeric_agree = verdicts(numeric_close)
        # The verdict, element by element: the exact value judges where there
        # is one; else the float symbolic value, unless it is an indeterminate
        # form (0·∞ in x**y*log(x) at x = 0); else finite differences.
        exact_close = (
            known if exact_side is None
            else exact_side.judge(values_s.reshape(len(tasks), -1).tolist(), tolerance).view(known.shape)
        )
        symbolic_usable = with_symbolic & ~indeterminate
        symbolic_close = tolerance.close(values_s, symbolic_s)
        # Without an exact value, the float symbolic value shares float64's
        # rounding with autograd (of the point, of the subexpressions both
        # compute: tan(x + 1) at 1e100 is tan(1e100) to both): it certifies
        # only beside finite differences. Agreeing with it alone is unchecked.
        unchecked = ~known & symbolic_usable & symbolic_close & ~numeric_close & ~at_sample(excluded)
        # Past FD_MAX_ORDER a stencil's error outgrows any answer: finite differences alone check nothing.
        shallow = torch.tensor([len(sequence) <= FD_MAX_ORDER for _, sequence in tasks]).view(per_task)
        beyond = ~known & ~symbolic_usable & ~shallow & ~at_sample(excluded)
        excluded_s = at_sample(excluded) | unchecked | beyond
        judged = torch.where(known, exact_close, torch.where(symbolic_usable, symbolic_close, numeric_close))
        # A derivative not checked at some element is not ✓ (it is ✗ where another element disagrees).
        task_unchecked = (unchecked | beyond).reshape(len(tasks), -1).any(dim=1).tolist()
        agree = [None if verdict and flag else verdict for verdict, flag in zip(verdicts(judged), task_unchecked)]
        compared = known & ~excluded_s  # where the exact value judged
        inaccurate = compared & ~exact_close

        autograd_rows, numeric_rows, symbolic_rows = _rows_of(values), _rows_of(witness.estimate), _rows_of(symbolic_s)
        differentiable = _rows_of_flags(~missing)
        sided = _one_sided_rows(kinks, kinked, values, shape)
        if exact_side is not None and exact_side.nondifferentiable:
            _add_sided(sided, exact_side.nondifferentiable, values, shape, sample)
        checks = self._exact_rows(exact_side, tasks, values_s, symbolic_s, present, compared, exact_close)
        judges = _judges(known, symbolic_usable, excluded_s)
        results, unresolved = [], []
        for index, (_, sequence) in enumerate(tasks):
            result = DerivativeResult(
                list(sequence),
                autograd=autograd_rows[index],
                symbolic=symbolic_text(symbolic[index]),
                symbolic_value=symbolic_rows[index] if index in present else None,
                numeric=numeric_rows[index],
                agree=agree[index],
                numeric_agree=numeric_agree[index],
                checked_by=judges[index],
                differentiable=differentiable[index],
                checked_points=sample,
                unchecked=task_unchecked[index],
                **sided[index],
                **checks[index],
            )
            if index in present and result.agree and not result.numeric_agree:
                unresolved.append((self.label(tasks[index]), witness.estimate[index]))
            results.append(result)
        symbolic_sampled = symbolic_s
        if sample is not None and (bool(kinked.any()) or bool(infinite.any())):
            # The warnings name an element of the whole point: symbolic values by element, nan where not sampled.
            spread = torch.full_like(values, torch.nan)
            at_sample(spread)[...] = symbolic_s
            symbolic_s = spread
        warnings.extend(self.domain_warnings(tasks, f_values, undefined))
        self.value_checks = self._value_checks(exact_side, f_values, sample, warnings)
        if exact_side is not None:
            warnings.extend(self._exact_warnings(
                exact_side, tasks, symbolic, values_s, symbolic_sampled, inaccurate, sample, results
            ))
        warnings.extend(self._kink_warnings(tasks, kinks, values, symbolic_s, present))
        warnings.extend(self._infinite_warnings(tasks, infinite, values, symbolic_s, symbolic))
        warnings.extend(self._no_symbolic_warnings(tasks, no_symbolic, values, symbolic))
        if exact_side is not None:
            warnings.extend(self._nondifferentiable_warnings(tasks, exact_side, nondifferentiable, values, sample))
        warnings.extend(self._unchecked_warnings(tasks, unchecked, values_s, sample))
        if bool(beyond.any()):
            labels = [self.label(task) for index, task in enumerate(tasks) if bool(beyond[index].any())]
            warnings.append(
                f"{', '.join(labels[:5])}{' and more' if len(labels) > 5 else ''} not checked: finite differences "
                f"cannot check a derivative of order above {FD_MAX_ORDER}, and neither the exact value nor SymPy's "
                "derivative is there (--no-exact, --no-symbolic or past --symbolic-timeout)"
            )
        if unresolved:
            warnings.append(finite_difference_warning(unresolved))
        return results

    def exact_side(self, tasks, symbolic, sampled, shape):
        """The exact witness at the sampled elements (None when it is off: it
        judges SymPy's derivative, so --no-symbolic turns it off too)."""
        if not self.problem.exact or (not self.problem.symbolic and self.problem.answered_by == "autograd"):
            return None  # Taylor mode's derivatives have the ball series of f, which needs no SymPy
        from autodiff.witnesses.exact import ExactSide

        count = math.prod(shape)
        columns = {name: _doubles(tensor, count) for name, tensor in sampled.plain.items()}
        weights = [None] * count if sampled.weights is None else _doubles(sampled.weights, count)
        derivatives = [None if s is None else s[0] for s in symbolic]
        return ExactSide(
            self.problem.exprs, derivatives, columns, count, weights, self.problem.limits, self.problem.symbolic_timeout,
            tasks, self.problem.max_limits,
        )

    def _exact_rows(self, side, tasks, values_s, symbolic_s, present, compared, exact_close) -> list[dict]:
        """Per task, the exact witness's fields of its DerivativeResult
        (`compared`: where the exact value judged autograd)."""
        if side is None:
            return [{} for _ in tasks]
        vector = values_s.dim() > 1
        autograd = values_s.reshape(len(tasks), -1).tolist()
        symbolic = symbolic_s.reshape(len(tasks), -1).tolist()
        close = exact_close.reshape(len(tasks), -1).tolist()
        compared = compared.reshape(len(tasks), -1).tolist()
        rows = []
        for task in range(len(tasks)):
            fields: dict = {key: [] for key in EXACT_FIELDS}
            for element in range(side.count):
                ball = side.ball(task, element)
                if ball is None:
                    for key in EXACT_FIELDS:
                        fields[key].append(None)
                    continue
                fields["exact"].append(ball.text())
                fields["exact_digits"].append(ball.digits)
                fields["exact_radius"].append(ball.radius_text())
                fields["exact_source"].append("limit" if (task, element) in side.d_limits else "ball")
                fields["autograd_digits"].append(ball.correct_digits(autograd[task][element]))
                fields["symbolic_digits"].append(
                    ball.correct_digits(symbolic[task][element]) if task in present else None
                )
                fields["accurate"].append(close[task][element] if compared[task][element] else None)
            rows.append(fields if vector else {key: values[0] for key, values in fields.items()})
        return rows

    def _value_checks(self, side, f_values, sample, warnings) -> list[dict]:
        """Per output, f's exact value and the correct digits of its float
        value; warnings where f overflowed, lost digits, or is undefined as
        written but has a limit."""
        if side is None:
            return [{} for _ in f_values]
        checks = []
        tolerance = self.problem.tolerance
        elements = range(side.count) if sample is None else sample

        def sampled(f):
            floats = f.detach().double().reshape(-1)
            return floats.expand(side.count) if floats.numel() == 1 else floats[elements.start : elements.stop : elements.step]

        for output, f in enumerate(f_values):
            values = sampled(f).tolist()
            texts, digits, sources, found = [], [], [], []
            for element in range(side.count):
                ball = side.f_ball(output, element)
                texts.append(None if ball is None else ball.text())
                digits.append(None if ball is None else ball.correct_digits(values[element]))
                limit = side.f_limits.get((output, element))
                sources.append(None if ball is None else "limit" if limit is not None else "ball")
                if ball is None or ball.within(values[element], tolerance) or len(found) > 5:
                    continue
                full = element if sample is None else sample[element]
                where = self.where(full)
                name = self._function(output)
                if limit is not None:
                    found.append(
                        f"{name} → {exact_text(ball.text())} as {limit.describe()}: {name} is undefined at {where} "
                        "as written, and its limit is its exact value there"
                    )
                    continue
                cause = self._cause(self.problem.exprs[output], self.program, output, full, ball.bits)
                if ball.beyond(self.dtype):
                    within = f" (in {cause.operation})" if cause is not None and cause.kind == "overflow" else ""
                    found.append(f"{name} = {ball.text()} overflows {self.problem.dtype} at {where}{within}")
                else:
                    found.append(
                        f"{name} = {number_text(values[element])} at {where} has {digits_text(digits[-1])}: "
                        f"the exact value is {ball.text()}" + (f"; {cause}" if cause else "")
                    )
            warnings.extend(capped_warnings(found, "more values of f lost digits"))
            vector = sample is not None or f.numel() > 1 or side.count > 1
            fields = {"value_exact": texts, "value_digits": digits, "value_exact_source": sources}
            checks.append({key: values if vector else values[0] for key, values in fields.items()})
        return checks

    def _cause(self, expr, program, output: int, element: int, bits: int, variables=None):
        """Why floats lost digits computing `expr` (output `output` of `program`) at an element of the point."""
        from autodiff.witnesses.exact import find_cause

        env = {name: tensor.reshape(-1)[element if tensor.numel() > 1 else 0] for name, tensor in self.plain.items()}
        try:
            return find_cause(expr, program, output, env, self.dtype, max(bits, 128), variables)
        except UnsupportedError:
            return None

    def judge_curves(self, curves, symbolic, name, x, f, warnings):
        """The exact witness on the plot's grid: per curve, the points where
        autograd lost digits beyond the tolerance, and the worst of them.
        Returns where f has a true finite value (a float inf there overflowed)."""
        import torch

        from autodiff.results import as_tensor, json_number

        side = self.exact_side([(0, [name] * c["order"]) for c in curves], symbolic, self, (len(x),))
        for curve in curves:
            curve.update(exact_points=0, inaccurate_points=0, worst=None)
        finite = torch.isfinite(f.to(torch.float64))
        if side is None:
            return torch.zeros_like(finite)
        tensors = side.tensors((len(x),))
        known, real_f = tensors.known, tensors.real_f[0]
        overflowed = ~finite & real_f
        if bool(overflowed.any()):
            element, more = self._elements(overflowed)
            warnings.append(
                f"f = {side.f_ball(0, element).text()} overflows {self.problem.dtype} at {name}={number_text(x[element])}"
                f"{more_points(more)}: the curves have gaps there"
            )
        defined = finite | real_f
        close = side.judge([as_tensor(curve["autograd"], torch.float64).tolist() for curve in curves], self.problem.tolerance)
        for index, curve in enumerate(curves):
            autograd = as_tensor(curve["autograd"], torch.float64)
            compared = known[index] & defined
            wrong = compared & ~close[index]
            curve["exact_points"], curve["inaccurate_points"] = int(compared.sum()), int(wrong.sum())
            if not bool(wrong.any()):
                continue
            digits = {int(i): side.ball(index, int(i)).correct_digits(float(autograd[i])) for i in wrong.nonzero().flatten()}
            element = min(digits, key=lambda i: (digits[i] if digits[i] is not None else 17, i))
            ball = side.ball(index, element)
            curve["worst"] = {
                "x": json_number(x[element]), "autograd": json_number(float(autograd[element])), "exact": ball.text(),
                "autograd_digits": digits[element],
            }
            curve["agree"] = False
            count = curve["inaccurate_points"]
            warnings.append(
                f"{curve['label']}: autograd is inaccurate at {count} of {len(x)} points; the worst at {name}="
                f"{number_text(x[element])}: autograd gives {number_text(float(autograd[element]))}, the exact value is "
                f"{ball.text()}"
            )
        return real_f

    def where(self, element: int) -> str:
        """The point, or the element of a vector point, as `x=-1, y=2`."""
        size = self.problem.point.size
        parts = [f"{name}={shown(value, element)}" for name, value in self.float64.items()]
        return ", ".join(parts) + (f" (point [{element}])" if size is not None else "")

    @staticmethod
    def _elements(mask) -> tuple[int, int]:
        """The first element where `mask` holds, and how many more there are."""
        flat = mask.reshape(-1).nonzero().flatten()
        return int(flat[0]), len(flat) - 1

    def _function(self, output: int) -> str:
        return f"f{subscript(output + 1)}" if len(self.problem.exprs) > 1 else "f"

    def label(self, task) -> str:
        output, sequence = task
        function = f"f{subscript(output + 1)}" if len(self.problem.exprs) > 1 else "f"
        return derivative_label(sorted(sequence) if len(sequence) == 2 else sequence, function)


def _one_sided_rows(kinks, kinked, values, shape) -> list[dict]:
    """Per task: left, right and convention at the kinks (None elsewhere),
    shaped like the point's numbers; empty where the task has no kink."""
    from autodiff.witnesses.kinks import convention

    if kinks is None or not bool(kinked.any()):
        return [{} for _ in range(len(values))]
    rows = []
    for index in range(len(values)):
        if not bool(kinked[index].any()):
            rows.append({})
            continue
        lefts, rights = kinks.left[index].tolist(), kinks.right[index].tolist()
        autograd = values[index].reshape(-1).tolist()
        flags = kinks.mask[index].tolist()
        left = [l if flag else None for l, flag in zip(lefts, flags)]
        right = [r if flag else None for r, flag in zip(rights, flags)]
        sides = [convention(a, l, r) if flag else None for a, l, r, flag in zip(autograd, lefts, rights, flags)]
        if not shape:
            left, right, sides = left[0], right[0], sides[0]
        rows.append({"left": left, "right": right, "convention": sides})
    return rows


def _add_sided(rows, nondifferentiable, values, shape, sample) -> None:
    """Add the one-sided values where a derivative does not exist by its
    definition to the kinks' rows (`_one_sided_rows`), in place."""
    count = math.prod(shape)
    for (index, element), sided in nondifferentiable.items():
        full = element if sample is None else sample[element]
        autograd = float(values[index].reshape(-1)[full])
        entry = {"left": sided.as_float(sided.left), "right": sided.as_float(sided.right), "convention": sided.convention(autograd)}
        if not shape:
            rows[index] = entry
            continue
        row = rows[index] or {key: [None] * count for key in entry}
        for key, value in entry.items():
            row[key] = list(row[key])
            row[key][full] = value
        rows[index] = row


def _finite(tensor):
    """torch.isfinite, with a shortcut for the usual case: when the sum is
    finite every element is (a nan or an infinity makes any sum non-finite),
    and one pass over a large point replaces isfinite's several."""
    import torch

    if tensor.numel() > 4096 and bool(torch.isfinite(tensor.sum())):
        return torch.ones(tensor.shape, dtype=torch.bool)
    return torch.isfinite(tensor)


def _rows_of_flags(stacked) -> list:
    """A (tasks, *shape) bool tensor as one bool (or Values of bools) per task."""
    return stacked.tolist() if stacked.dim() == 1 else [Values(row) for row in stacked]


def _rows_of(stacked):
    """A (tasks, *shape) tensor as one float (or Values, over a vector point) per task."""
    stacked = stacked.detach().double()
    return stacked.tolist() if stacked.dim() == 1 else [Values(row) for row in stacked]


JUDGES = ("numeric", "symbolic", "exact")  # the witnesses, weakest first
FD_MAX_ORDER = 6  # finite differences judge a derivative up to this order (design §15: high orders have the exact series)


def _judges(known, symbolic_usable, excluded) -> list[Optional[str]]:
    """Per task, the weakest witness that judged autograd at any compared
    element: "exact", "symbolic" or "numeric" (None: nothing compared)."""
    import torch

    # Each element's judge as a rank (JUDGES' order), 3 where it was not compared; the task's is the least.
    ranks = torch.where(known, 2, torch.where(symbolic_usable, 1, 0)).masked_fill(excluded, len(JUDGES))
    return [JUDGES[rank] if rank < len(JUDGES) else None for rank in ranks.reshape(len(ranks), -1).amin(dim=1).tolist()]


def _doubles(tensor, count: int) -> list[float]:
    """A point's tensor (0-d broadcasts) as `count` Python floats (exact: float32 widens exactly)."""
    values = tensor.detach().double().reshape(-1).tolist()
    return values * count if len(values) == 1 and count > 1 else values


def symbolic_text(symbolic) -> Optional[str]:
    """The printed text of a (derivative, text) pair, None for None."""
    return None if symbolic is None else symbolic[1]


PRIMES = {1: "′", 2: "″", 3: "‴"}


def plot_curve(k: int, autograd, symbolic, exact, tolerance) -> dict:
    import torch

    """A plot's k-th derivative: autograd's values on the grid beside the
    symbolic derivative's (`exact`: its float values), and their agreement."""
    curve = {
        "order": k,
        "label": "f" + PRIMES[k],
        "autograd": numbers(autograd),
        "symbolic": symbolic_text(symbolic),
        "symbolic_values": None,
        "max_abs_difference": None,
        "agree": None,
    }
    if exact is not None:
        exact = exact.to(torch.float64)
        both = torch.isfinite(exact) & torch.isfinite(autograd)
        difference = (autograd.to(torch.float64) - exact).abs()[both]
        curve["symbolic_values"] = numbers(exact)
        curve["max_abs_difference"] = float(difference.max()) if difference.numel() else None
        # Where SymPy has no value and autograd has one (2*DiracDelta(x) at a
        # kink of abs), there is nothing to compare: counted, not a mismatch.
        missing = torch.isnan(exact) & torch.isfinite(autograd)
        close = tolerance.close(autograd, exact) | missing
        # Points where one side is finite and the other not (x^x at 0): counted, not in the max.
        curve["nonfinite_mismatches"] = int((~close & ~both).sum())
        curve["symbolic_missing"] = int(missing.sum())
        curve["agree"] = bool(close.all())
    return curve
