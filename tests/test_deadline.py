"""The symbolic deadline (autodiff.deadline.with_deadline) stops the work.

A timer signal raises SymbolicTimeout between bytecodes; where Python drops
that exception (raised inside a garbage-collector callback or a finaliser,
as Hypothesis's gc callback did in CI, leaving a SymPy limit running for
hours), the alarm must come again.
"""

from __future__ import annotations

import time

import pytest

from autodiff.deadline import SymbolicTimeout, with_deadline


def _busy_until(seconds: float, swallow: int) -> str:
    """Spin for `seconds`, dropping the first `swallow` timeouts as a gc
    callback would; 'ran past' when nothing stopped it."""
    end = time.monotonic() + seconds
    dropped = 0
    while time.monotonic() < end:
        try:
            sum(range(1000))
        except SymbolicTimeout:
            if dropped == swallow:
                raise
            dropped += 1
    return "ran past"


@pytest.mark.parametrize("swallow", [0, 1, 3])
def test_deadline_stops_work_even_when_a_timeout_is_dropped(swallow):
    started = time.monotonic()
    with pytest.raises(SymbolicTimeout):
        with_deadline(lambda: _busy_until(5.0, swallow), 0.2)
    assert time.monotonic() - started < 2.0


def test_an_inner_deadline_keeps_the_outer_one():
    def outer():
        assert with_deadline(lambda: "inner done", 5.0) == "inner done"
        return _busy_until(5.0, 0)

    started = time.monotonic()
    with pytest.raises(SymbolicTimeout):
        with_deadline(outer, 0.3)
    assert time.monotonic() - started < 2.0


def test_an_inner_deadline_cannot_outlast_the_outer_one():
    started = time.monotonic()
    with pytest.raises(SymbolicTimeout):
        with_deadline(lambda: with_deadline(lambda: _busy_until(5.0, 0), 10.0), 0.3)
    assert time.monotonic() - started < 2.0


def test_work_within_the_deadline_returns_its_value_and_leaves_no_alarm():
    assert with_deadline(lambda: 42, 1.0) == 42
    assert _busy_until(0.5, 0) == "ran past"  # no alarm left behind to fire later


def test_deadlines_that_end_as_the_work_ends_leave_no_timer_armed():
    # The alarm often fires while the deadline is being cleared: it must not
    # escape the clean-up and leave a repeating timer behind.
    import signal

    handler = signal.getsignal(signal.SIGALRM)
    for index in range(300):
        try:
            with_deadline(lambda: _busy_until(0.002 + (index % 7) * 0.0005, 0), 0.003)
        except SymbolicTimeout:
            pass
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is handler


def test_an_alarm_turned_into_another_error_past_the_deadline_is_the_deadline():
    # A C extension (SymEngine's conversion) may catch the timeout and raise
    # something else: past the deadline, that is still a timeout.
    def work():
        try:
            _busy_until(5.0, 0)
        except SymbolicTimeout:
            raise AttributeError("'NegativeOne' object has no attribute 'as_base_exp'") from None

    with pytest.raises(SymbolicTimeout):
        with_deadline(work, 0.1)
    with pytest.raises(AttributeError):  # before the deadline, an error is the error it is
        with_deadline(lambda: None.missing, 5.0)


def test_a_deadline_never_stops_an_import_half_way(tmp_path, monkeypatch):
    """Work that imports a module lazily (the engine, and with it torch) past
    its deadline: the module is imported whole, then the deadline strikes. A
    module stopped half-way stays broken for the process (torch cannot
    register its operators twice: a CI run failed so under load)."""
    import sys

    (tmp_path / "slow_to_import.py").write_text(
        "import time\n"
        "end = time.monotonic() + 0.4\n"
        "while time.monotonic() < end:\n"
        "    sum(range(1000))\n"
        "WHOLE = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def work():
        import slow_to_import  # noqa: F401

        return _busy_until(5, swallow=0)

    try:
        with pytest.raises(SymbolicTimeout):
            with_deadline(work, 0.05)
        assert sys.modules["slow_to_import"].WHOLE is True
    finally:
        sys.modules.pop("slow_to_import", None)
