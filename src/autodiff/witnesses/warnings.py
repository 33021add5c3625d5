"""The warnings a verdict carries: every element the witnesses leave out of
the comparison (outside f's domain, a kink, a derivative that does not
exist, an infinity) and every disagreement, each said once with its point.

`Warnings` is the half of `verdict.Witnesses` that words what the other
half found; it reads the witnesses' state (`self.problem`, `self.where`,
`self.label`) and computes nothing new beyond the cause of a bad value.
"""

from __future__ import annotations

from typing import Optional

from autodiff.limits import raise_hint
from autodiff.language.notation import plain_text
from autodiff.text import exact_text, number_text, shortened


class Warnings:
    """The wording of what `Witnesses.cross_check` found."""

    @property
    def engine(self) -> str:
        """What computed the derivatives judged: "autograd", or "Taylor mode" (design §15)."""
        return "Taylor mode" if self.problem.answered_by == "taylor mode" else "autograd"

    def _exact_warnings(self, side, tasks, symbolic, values_s, symbolic_s, inaccurate, sample, results) -> list[str]:
        """Where autograd is inaccurate (and why), where a derivative is a
        limit, where SymPy's derivative is an indeterminate form, and what
        the exact witness could not do."""
        found, limits, forms = [], [], []
        for index, task in enumerate(tasks):
            label = self.label(task)
            if bool(inaccurate[index].any()):
                found.append(self._inaccuracy(side, index, task, symbolic, values_s, symbolic_s, inaccurate, sample, results))
            for (task_index, element), limit in side.d_limits.items():
                if task_index == index:
                    full = element if sample is None else sample[element]
                    if limit.of == "derivative":
                        limits.append(
                            f"{label} = {exact_text(limit.ball.text())} at {self.where(full)} by its definition (the "
                            f"limit of f's difference quotient as {limit.describe()}); SymPy's formula is undefined "
                            "there as written"
                        )
                        continue
                    limits.append(
                        f"{label} → {exact_text(limit.ball.text())} as {limit.describe()}: {label} is undefined at "
                        f"{self.where(full)} as written, and its limit is its exact value there"
                    )
            for task_index, element in sorted(side.indeterminate):
                if task_index == index:
                    full = element if sample is None else sample[element]
                    forms.append(
                        f"SymPy's {label} = {shortened(symbolic[index][1])} is an indeterminate form at "
                        f"{self.where(full)} (nan as written); finite differences decided there"
                    )
        warnings = capped_warnings(found, "more derivatives are inaccurate")
        warnings += capped_warnings(limits, "more limits")
        warnings += capped_warnings(forms, "more indeterminate forms")
        if side.unsupported:
            warnings.append(f"the exact witness cannot evaluate everything ({side.unsupported}); the other witnesses decided")
        if side.evaluated < side.count:
            operations = self.problem.limits.max_exact_operations
            warnings.append(
                f"the exact witness checked {side.evaluated} of {side.count} points within its {operations:,} ball "
                f"operations; the other witnesses decided at the rest ({raise_hint('exact-operations')})"
            )
        capped = sum(1 for row in side.d_balls + side.f_balls for ball in row if ball is not None and ball.capped)
        if capped:
            warnings.append(
                f"{capped} exact value{'s are' if capped > 1 else ' is'} not tight to 20 digits within "
                f"{self.problem.limits.max_exact_bits} bits; the other witnesses decided there ({raise_hint('exact-bits', 4 * self.problem.limits.max_exact_bits)})"
            )
        return warnings

    def _inaccuracy(self, side, index, task, symbolic, values_s, symbolic_s, inaccurate, sample, results) -> str:
        """The warning for a derivative autograd got wrong (at its first such
        element), with the exact value and the cause, which it also records."""
        import torch

        from autodiff.engine.lowering import compile_expressions

        element, more = self._elements(inaccurate[index])
        full = element if sample is None else sample[element]
        ball = side.ball(index, element)
        autograd = float(values_s[index].reshape(-1)[element])
        # First f's operations on the variables differentiated (autograd's backward retraces
        # them), then the symbolic derivative's formula.
        cause = self._cause(self.problem.exprs[task[0]], self.program, task[0], full, ball.bits, task[1])
        if cause is None and symbolic[index] is not None:
            derivative = symbolic[index][0]
            cause = self._cause(derivative, compile_expressions([derivative]), 0, full, ball.bits)
        results[index].cause = None if cause is None else str(cause)
        label, where = self.label(task), self.where(full) + more_points(more)
        gives = f"{self.engine} gives {number_text(autograd)} ({digits_text(ball.correct_digits(autograd))})"
        if ball.beyond(self.dtype):
            return f"{label} = {ball.text()} overflows {self.problem.dtype} at {where}: {gives}"
        # Floats lost the digits (a cause, or the float symbolic value off the exact value too):
        # inaccurate; else a plain disagreement with SymPy's formula.
        pair = torch.tensor([float(symbolic_s[index].reshape(-1)[element]), ball.to_float()], dtype=torch.float64)
        lost = cause is not None or symbolic[index] is None or not bool(self.problem.tolerance.close(pair[0], pair[1]))
        head = f"{label} is inaccurate at" if lost else f"{self.engine} and the exact value disagree for {label} at"
        return f"{head} {where}: {gives}, the exact value is {ball.text()}" + (f"; {cause}" if cause else "")

    def domain_warnings(
        self, tasks, f_values, undefined, consequence: str = "its derivatives are not compared"
    ) -> list[str]:
        """Per output where f is not finite: the operation that made it so, and where."""
        from autodiff.witnesses.domains import find_culprit

        found = []
        for output in dict.fromkeys(output for output, _ in tasks):
            rows = [index for index, (o, _) in enumerate(tasks) if o == output]
            mask = undefined[rows[0]]
            if not bool(mask.any()):
                continue
            element, more = self._elements(mask)
            culprit = find_culprit(self.program, self.plain, output, element, self.dtype)
            value = shown(f_values[output], element)
            where = self.where(element) + more_points(more)
            cause = culprit.describe(where) if culprit else f"{self._function(output)} is {value} at {where}"
            found.append(f"{cause}; {self._function(output)} is not defined there and {consequence}")
        return found

    def _kink_warnings(self, tasks, kinks, values, exact, present) -> list[str]:
        from autodiff.witnesses.kinks import convention

        if kinks is None or not bool(kinks.mask.any()):
            return []
        found = []
        for index, task in enumerate(tasks):
            mask = kinks.mask[index]
            if not bool(mask.any()):
                continue
            element, more = self._elements(mask)
            left, right = float(kinks.left[index, element]), float(kinks.right[index, element])
            autograd = float(values[index].reshape(-1)[element])
            side = convention(autograd, left, right)
            gives = f"{self.engine} gives {number_text(autograd)}" + (
                f" (the {side}-hand derivative)" if side in ("left", "right") else " (their average)" if side == "average" else ""
            )
            if index in present:
                gives += f", SymPy {shown(exact[index], element)}"
            found.append(
                f"{self.label(task)} does not exist at {self.where(element)}{more_points(more)}, where "
                f"{shortened(plain_text(kinks.switch[index].node))} switches branches (left derivative {number_text(left)}, "
                f"right {number_text(right)}); {gives}"
            )
        return capped_warnings(found, "more derivatives do not exist at the point")

    def _nondifferentiable_warnings(self, tasks, side, nondifferentiable, values, sample) -> list[str]:
        """Where a first derivative does not exist by its definition: its one-sided values."""
        found = []
        for (index, element), sided in sorted(side.nondifferentiable.items(), key=lambda item: item[0]):
            full = element if sample is None else sample[element]
            if not bool(nondifferentiable[index].reshape(-1)[full]):
                continue
            found.append(
                f"{self.label(tasks[index])} does not exist at {self.where(full)} "
                f"({sided.describe(self._function(tasks[index][0]))}); "
                f"{self.engine} gives {shown(values[index], full)}, not compared"
            )
        return capped_warnings(found, "more derivatives do not exist at the point")

    def _unchecked_warnings(self, tasks, unchecked, values_s, sample) -> list[str]:
        found = []
        for index, task in enumerate(tasks):
            if bool(unchecked[index].any()):
                element, more = self._elements(unchecked[index])
                full = element if sample is None else sample[element]
                found.append(
                    f"{self.label(task)} at {self.where(full)}{more_points(more)} is not checked: {self.engine} gives "
                    f"{shown(values_s[index], element)} and so does SymPy's derivative in float64, but the two "
                    "share float64's rounding, the exact witness reached no value, and finite differences disagree"
                )
        return capped_warnings(found, "more derivatives are not checked")

    def _no_symbolic_warnings(self, tasks, no_symbolic, values, symbolic) -> list[str]:
        found = []
        for index, task in enumerate(tasks):
            if bool(no_symbolic[index].any()):
                element, more = self._elements(no_symbolic[index])
                found.append(
                    f"{self.label(task)} at {self.where(element)}{more_points(more)}: SymPy's "
                    f"{shortened(symbolic[index][1])} has no value there (a switch point); {self.engine} gives "
                    f"{shown(values[index], element)}, not compared"
                )
        return capped_warnings(found, "more derivatives have no symbolic value at the point")

    def _infinite_warnings(self, tasks, infinite, values, exact, symbolic) -> list[str]:
        from autodiff.witnesses.domains import find_culprit
        from autodiff.engine.lowering import compile_expressions

        found = []
        for index, task in enumerate(tasks):
            mask = infinite[index]
            if not bool(mask.any()):
                continue
            element, more = self._elements(mask)
            autograd = shown(values[index], element)
            where = self.where(element) + more_points(more)
            sides = f"{self.engine} {autograd}"
            culprit = None
            if symbolic[index] is not None:
                sides += f", symbolic {shown(exact[index], element)}"
                culprit = find_culprit(compile_expressions([symbolic[index][0]]), self.plain, 0, element, self.dtype)
            cause = f"; in {shortened(symbolic[index][1])}, {culprit.describe()}" if culprit else ""
            found.append(f"{self.label(task)} is not finite at {where} and is not compared ({sides}{cause})")
        return capped_warnings(found, "more derivatives are not finite at the point")


def shown(tensor, element: int) -> str:
    """One element of a tensor (a 0-d tensor broadcasts) as message text."""
    flat = tensor.detach().reshape(-1)
    return number_text(float(flat[element if flat.numel() > 1 else 0]))


def more_points(more: int) -> str:
    return f" and at {more} other point{'s' if more > 1 else ''}" if more else ""


def capped_warnings(found: list[str], rest: str, keep: int = 5) -> list[str]:
    """Distinct warnings (a Hessian's mirrored entries give the same one), at most `keep` and a count."""
    found = list(dict.fromkeys(found))
    return found if len(found) <= keep else found[:keep] + [f"{len(found) - keep} {rest}"]


def finite_difference_warning(unresolved) -> str:
    """One warning for every derivative whose finite difference disagrees
    with autograd and symbolic, which agree with each other."""
    import torch

    labels = list(dict.fromkeys(label for label, _ in unresolved))  # ∂²f/∂x∂y and ∂²f/∂y∂x: one estimate
    listed = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
    finite = [bool(torch.isfinite(estimate).all()) for _, estimate in unresolved]
    if not any(finite):
        where = "at some points" if any(bool(torch.isfinite(e).any()) for _, e in unresolved) else "here"
        return f"finite differences for {listed} are not finite {where}: the function is not finite near the point"
    return (
        f"finite differences disagree with autograd and symbolic for {listed} "
        "(a kink, a discontinuity or a steep function near the point?)"
    )


def digits_text(digits: Optional[int]) -> str:
    if digits is None:
        return "digits unknown beside a value of 0"
    return "no correct digits" if digits == 0 else f"{digits} correct digit{'s' if digits > 1 else ''}"
