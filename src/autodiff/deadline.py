"""Deadlines for work that cannot be waited for: SymPy and SymEngine calls.

SymPy is pure Python, so a timer signal interrupts it between bytecodes: the
work is stopped, not waited for. Where signals are unavailable (not the main
thread, or Windows), the work runs in a daemon thread that is abandoned at
the deadline. The parser (building a tree), the symbolic engine and the
witnesses all run their SymPy work through `with_deadline`.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Callable, TypeVar

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
    if frame is None or frame.f_code is not _run_with_alarm.__code__ and not _importing(frame):
        raise SymbolicTimeout()


def _importing(frame) -> bool:
    """Whether the alarm came while a module is being imported (work may import
    lazily: SymPy's parts, the engine and with it torch). Stopped half-way, a
    module stays broken for the process (torch cannot register its operators
    twice); the alarm repeats, and strikes once the import is done."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


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
