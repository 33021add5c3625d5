"""The symbolic side: derivatives (SymEngine where it can, SymPy otherwise) under a deadline.

SymPy is pure Python, so a timer signal interrupts it between bytecodes: the
work is stopped, not waited for. Where signals are unavailable (not the main
thread, or Windows), the work runs in a daemon thread that is abandoned at
the deadline.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Callable, Optional, Sequence, TypeVar

T = TypeVar("T")

NO_LIMIT = 1e6  # seconds; a timeout this long (or inf) means no deadline


class SymbolicTimeout(BaseException):
    """SymPy did not finish within --symbolic-timeout seconds.

    A BaseException, as KeyboardInterrupt is: SymPy catches Exception in
    places (evaluating a function inside `subs`, `limit`), and a timeout it
    swallowed would leave the work running with no alarm left.
    """


def _can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


# After the deadline the alarm repeats at this interval until the work has
# stopped: an exception raised inside a garbage-collector callback or a
# finaliser is printed and dropped by Python, and a single alarm lost there
# would leave the work running with no deadline at all.
_REPEAT_SECONDS = 0.05


def _on_alarm(signum, frame):
    # Never while _run_with_alarm itself runs: an exception raised in its
    # set-up or clean-up would leave the timer armed after it returned.
    if frame is None or frame.f_code is not _run_with_alarm.__code__:
        raise SymbolicTimeout()


def _run_with_alarm(work: Callable[[], T], seconds: float) -> T:
    started = time.monotonic()
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_delay) if outer_delay > 0 else seconds, _REPEAT_SECONDS)
    try:
        if time.monotonic() - started >= seconds:  # an alarm that came during the set-up was not raised
            raise SymbolicTimeout()
        return work()
    except Exception:
        if time.monotonic() - started >= seconds:
            # The alarm came inside a C extension (SymEngine's conversion), which
            # turned it into another error: it is the deadline all the same.
            raise SymbolicTimeout() from None
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0:  # a deadline around this one keeps what was left of it
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), outer_interval)


def with_deadline(work: Callable[[], T], seconds: float) -> T:
    """Run `work`, raising SymbolicTimeout if it takes longer than `seconds`."""
    if seconds <= 0:
        raise SymbolicTimeout()
    if seconds >= NO_LIMIT:  # `inf`: no deadline (setitimer overflows on huge values)
        return work()
    if _can_use_alarm():
        return _run_with_alarm(work, seconds)
    outcome: dict[str, object] = {}

    def target():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed back to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise SymbolicTimeout()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def symbolic_derivative(expr, sequence: Sequence[str], symbols: Optional[dict] = None):
    """The derivative of `expr` along `sequence` (as sympy.diff(expr, *sequence)),
    a SymPy tree with the variables named as in the expression.

    SymEngine (SymPy's C++ sibling) differentiates where it knows every node
    of the tree, some twenty times faster; SymPy does the rest (our own
    functions, kinks, Piecewise). `symbols` (name → Symbol, from
    `symbols_of`) saves looking them up in a large expression again.
    """
    by_name = symbols if symbols is not None else symbols_of([expr])
    fast = _symengine_derivative(expr, sequence, by_name)
    return fast if fast is not None else sympy_derivative(expr, sequence, by_name)


def sympy_derivative(expr, sequence: Sequence[str], by_name: dict):
    """sympy.diff(expr, *sequence)."""
    import sympy

    for name in sequence:
        symbol = by_name.get(name) or sympy.Symbol(name, real=True)
        if isinstance(expr, sympy.Add):
            # As Add differentiates, but without asking every term that does
            # not contain the variable (a 60-variable sum has 59 such terms).
            expr = sympy.Add(*(sympy.diff(term, symbol) for term in expr.args if symbol in term.free_symbols))
        else:
            expr = sympy.diff(expr, symbol)
    return expr


def _symengine_derivative(expr, sequence: Sequence[str], by_name: dict):
    """The derivative by SymEngine, as a SymPy tree over our real symbols;
    None where SymEngine is not installed or the tree has a node it does not
    know as SymPy does (its sinc differentiates to 0, its abs to an
    unevaluated Derivative)."""
    try:
        import symengine
    except ImportError:
        return None
    import sympy

    if not _symengine_knows(expr, sympy):
        return None
    # A SymPy tree (never text) converted node by node to SymEngine's.
    derivative = symengine.sympify(expr)
    for name in sequence:
        derivative = derivative.diff(symengine.Symbol(name))
    plain = derivative._sympy_()  # SymEngine's symbols come back without assumptions: ours are real
    return plain.xreplace({sympy.Symbol(name): symbol for name, symbol in by_name.items()})


_KNOWN: Optional[tuple] = None


def _symengine_knows(expr, sympy) -> bool:
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = (
            sympy.Symbol, sympy.Integer, sympy.Rational, sympy.Float, sympy.Add, sympy.Mul, sympy.Pow,
            type(sympy.pi), type(sympy.E), type(sympy.S.Half), type(sympy.S.One), type(sympy.S.NegativeOne),
            type(sympy.S.Zero), sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.csc,
            sympy.cot, sympy.asin, sympy.acos, sympy.atan, sympy.acot, sympy.asec, sympy.acsc, sympy.sinh,
            sympy.cosh, sympy.tanh, sympy.coth, sympy.sech, sympy.csch, sympy.asinh, sympy.acosh, sympy.atanh,
            sympy.acoth, sympy.erf, sympy.erfc, sympy.gamma, sympy.loggamma,  # not asech, acsch: PyFunctions there
        )
    known = _KNOWN
    return all(type(node) in known for node in sympy.preorder_traversal(expr))


def symbols_of(exprs) -> dict:
    """The variables of some expressions, by name."""
    return {symbol.name: symbol for expr in exprs for symbol in expr.free_symbols}
