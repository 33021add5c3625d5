"""An ordered map over forked worker processes: `check --jobs N`, and
`--jobs N` of the commands that read expressions from standard input.

The workers are forked from the caller after it has imported what the work
needs (`import_packages`), so each starts in milliseconds with torch and
SymPy already loaded, where a spawned one pays their seconds of imports
again. The function the workers apply is inherited by the fork, never
pickled: a closure will do. Items and results travel pickled, one pipe each
way per worker. A worker holds one item, and a second small one queued
behind it, so it never waits for the caller between two. The caller
writes a worker only what fits in its pipe or what it is waiting to read
(a large item goes only to an idle worker), so neither ever waits on the
other.

Results are delivered in submission order, as soon as every earlier one is
in: a slow item holds back the results after it, never the items after it,
which the other workers go on answering. At most `window` items are in
flight (submitted, not yet delivered), so memory stays flat however long the
input. A worker that dies (a crash, the kernel's OOM killer) costs only the
item it was answering, delivered as `lost(item, WorkerFailed)` (the one
queued behind it goes to another worker); a fresh worker takes its place.
Closing the pool kills and reaps every worker, on any way out (an error,
Ctrl-C, a reader gone); SIGTERM or SIGHUP kill them before the caller dies
of the signal, and on Linux a worker dies with its caller. A signal ends
the caller's wait for the workers however close to its start it comes (a
wakeup descriptor), and none reaches a worker before its own handlers do.

POSIX only (`AVAILABLE`): callers answer in their own process elsewhere.
"""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import pkgutil
import select
import signal
import struct
import sys
from collections import deque
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator, Optional

AVAILABLE = hasattr(os, "fork") and hasattr(select, "poll") and hasattr(signal, "pthread_sigmask")

_HEADER = struct.Struct("!Q")  # the length of the pickle that follows
_READ = 1 << 20  # bytes read from a worker at once
_QUEUED = 4096  # the largest item (pickled) queued behind another: two such never fill a pipe
_ENDING = (signal.SIGTERM, signal.SIGHUP) if hasattr(signal, "SIGHUP") else (signal.SIGTERM,)
_HELD = (signal.SIGINT, *_ENDING)  # held back across a fork (see _start)


class WorkerFailed(Exception):
    """A worker could not answer an item: it died, or its function raised
    past everything the caller catches, or its answer could not be sent."""


def import_packages(*packages: ModuleType) -> None:
    """Import every module directly inside each of `packages`, so that
    workers forked after inherit them instead of each importing them on its
    first item."""
    for package in packages:
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)


def ordered_map(
    function: Callable[[Any], Any],
    items: Iterable[Any],
    jobs: int,
    lost: Callable[[Any, WorkerFailed], Any],
    window: Optional[int] = None,
) -> Iterator[Any]:
    """`function(item)` for each of `items`, computed in `jobs` forked
    workers, yielded in the order of `items`."""
    done: deque = deque()
    with OrderedPool(function, jobs, done.append, lost, window) as pool:
        for item in items:
            pool.submit(item)
            while done:
                yield done.popleft()
        while pool.in_flight:
            pool.wait()
            while done:
                yield done.popleft()


class OrderedPool:
    """`jobs` forked workers applying `function`; each result goes to
    `deliver`, in submission order. A context manager: leaving it kills the
    workers. `lost(item, error)` stands in for the result of an item whose
    worker failed (called in this process)."""

    def __init__(
        self,
        function: Callable[[Any], Any],
        jobs: int,
        deliver: Callable[[Any], None],
        lost: Callable[[Any, WorkerFailed], Any],
        window: Optional[int] = None,
    ):
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        self.function, self.deliver, self.lost = function, deliver, lost
        self.window = max(window or 8 * jobs, jobs)
        self.waiting: deque = deque()  # (number, item, pickled): submitted, not yet given to a worker
        self.finished: dict = {}  # number → result, held until every earlier one is delivered
        self.submitted = self.delivered = 0
        self.workers: dict[int, _Worker] = {}  # by the descriptor their results arrive on
        self.poller = select.poll()
        self.previous: dict = {}
        self.wakeup: Optional[tuple] = None  # (read, write): the pipe signal.set_wakeup_fd writes to
        try:
            self._watch_ending_signals()
            for _ in range(jobs):
                self._start()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "OrderedPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def in_flight(self) -> int:
        """Items submitted and not yet delivered."""
        return self.submitted - self.delivered

    def submit(self, item: Any) -> None:
        """Queue `item`; deliver every result already in; wait while the
        window is full."""
        self.waiting.append((self.submitted, item, pickle.dumps(item, pickle.HIGHEST_PROTOCOL)))
        self.submitted += 1
        self._collect(0)
        while self.in_flight >= self.window:
            self._collect(None)

    def wait(self) -> None:
        """Wait for at least one result (when any item is in flight), and
        deliver what can be delivered."""
        if self.in_flight:
            self._collect(None)

    def finish(self) -> None:
        """Wait until every submitted item's result is delivered."""
        while self.in_flight:
            self._collect(None)

    def wait_readable(self, fd: int) -> None:
        """Deliver results as they come until descriptor `fd` can be read:
        a caller that reads its items from a pipe answers the ones it has
        while the next is still coming."""
        while not self._collect(None, fd):
            pass

    def close(self) -> None:
        """Kill and reap every worker; restore the signal handlers."""
        workers, self.workers = list(self.workers.values()), {}
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.reap()
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous = {}
        if self.wakeup is not None:
            signal.set_wakeup_fd(-1)
            for fd in self.wakeup:
                os.close(fd)
            self.wakeup = None

    # --- the workers --------------------------------------------------------

    def _start(self) -> None:
        for stream in (sys.stdout, sys.stderr):  # a fork duplicates what is still buffered
            if stream is not None:
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
        tasks_read, tasks_write = os.pipe()
        results_read, results_write = os.pipe()
        inherited = [fd for worker in self.workers.values() for fd in (worker.tasks, worker.results)]
        inherited += self.wakeup or ()
        caller = os.getpid()
        # SIGINT, SIGTERM and SIGHUP are held back from the fork until the
        # worker has its own handlers (_serve): one that came in between
        # would run the caller's handler in the worker, and a
        # KeyboardInterrupt there would run the caller's clean-up (its
        # `finally`s, this pool's close: killing its siblings) in the
        # worker. The caller gets it once the new worker is registered,
        # so that close and _ended_by kill that one too. (The mask is read
        # before the change: a KeyboardInterrupt raised as the change
        # returns must still find it restored.)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
            # Frozen, the inherited objects are never scanned by the worker's
            # collector, which would copy every page they lie on (half the
            # worker's page faults); the caller collects them again at once.
            gc.freeze()
            pid = os.fork()
            if pid == 0:  # the worker; it never returns
                if self.wakeup is not None:
                    signal.set_wakeup_fd(-1)  # the worker's signals are its own
                for fd in (*inherited, tasks_write, results_read):  # else a dead worker's pipe would never end
                    os.close(fd)
                _serve(self.function, tasks_read, results_write, caller, mask)
            os.close(tasks_read)
            os.close(results_write)
            worker = _Worker(pid, tasks_write, results_read)
            self.workers[results_read] = worker
            self.poller.register(results_read, select.POLLIN)
        finally:
            gc.unfreeze()  # in the caller only: the worker never returns here
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _dispatch(self) -> None:
        """Give waiting items to idle workers, and small ones to a busy
        worker's queue."""
        while self.waiting and self.workers:
            worker = min(self.workers.values(), key=lambda worker: len(worker.items))
            pickled = self.waiting[0][2]
            if worker.items and (len(worker.items) > 1 or len(pickled) > _QUEUED or len(worker.items[0][2]) > _QUEUED):
                return
            worker.items.append(self.waiting.popleft())
            try:
                write_frame(worker.tasks, pickled)
            except OSError:  # the worker is gone: its last item was never started
                self.waiting.appendleft(worker.items.pop())
                self._replace(worker)

    def _collect(self, timeout: Optional[float], fd: Optional[int] = None) -> bool:
        """Read what the workers sent, for up to `timeout` seconds (None:
        until something comes); deliver what can be. True when `fd` is readable."""
        self._dispatch()
        if fd is not None:
            self.poller.register(fd, select.POLLIN)
        try:
            events = self.poller.poll(None if timeout is None else timeout * 1000)
        finally:
            if fd is not None:
                self.poller.unregister(fd)
        readable = False
        for ready, _ in events:
            if ready == fd:
                readable = True
            elif ready in self.workers:
                self._read(self.workers[ready])
            elif self.wakeup is not None and ready == self.wakeup[0]:
                _drain(ready)  # a signal whose handler returned (one that raised did so above)
        self._dispatch()
        while self.delivered in self.finished:
            result = self.finished.pop(self.delivered)
            self.delivered += 1
            self.deliver(result)
        return readable

    def _read(self, worker: "_Worker") -> None:
        try:
            data = os.read(worker.results, _READ)
        except OSError:
            data = b""
        if not data:
            self._replace(worker)
            return
        for ok, value in worker.received(data):
            number, item, _ = worker.items.popleft()
            self.finished[number] = value if ok else self.lost(item, WorkerFailed(value))

    def _replace(self, worker: "_Worker") -> None:
        """A worker ended: the item it was answering is lost, the one queued
        behind it waits for another; a fresh worker takes its place."""
        del self.workers[worker.results]
        self.poller.unregister(worker.results)
        worker.kill()
        ending = worker.reap()
        if worker.items:
            number, item, _ = worker.items.popleft()
            self.waiting.extendleft(reversed(worker.items))
            self.finished[number] = self.lost(item, WorkerFailed(f"the worker process ended ({ending})"))
        try:
            self._start()
        except OSError:  # no fork to be had: go on with the workers left
            if not self.workers:
                raise

    def _watch_ending_signals(self) -> None:
        """SIGTERM and SIGHUP kill the workers before the caller dies of them
        (where the caller lets them kill it: no handler of its own); a
        signal wakes the caller's wait for the workers (_watch_wakeup)."""
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for number in _ENDING:
            if signal.getsignal(number) is signal.SIG_DFL:
                self.previous[number] = signal.signal(number, self._ended_by)
        self._watch_wakeup()

    def _watch_wakeup(self) -> None:
        """Poll, with the workers, a pipe that each signal's C handler writes
        a byte to (signal.set_wakeup_fd).

        Python runs a signal's handler (SIGINT's KeyboardInterrupt,
        _ended_by) between two bytecodes. A signal that comes after the
        last of them and before the poll in _collect blocks (a few
        instructions, hit now and then on a loaded machine) interrupts
        nothing: the poll waited for a worker or for standard input that
        might never come, Ctrl-C and SIGTERM ignored for good. The byte
        ends that poll, and the handler runs as it returns.

        A caller's own wakeup descriptor (asyncio's) is left in place, and
        the poll then goes without (as before)."""
        read, write = os.pipe()
        for fd in (read, write):
            os.set_blocking(fd, False)  # set_wakeup_fd requires it of the write end
        self.wakeup = (read, write)  # set first: close resets the wakeup descriptor and closes these
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        if previous != -1:
            signal.set_wakeup_fd(previous)
            self.wakeup = None
            os.close(read)
            os.close(write)
            return
        self.poller.register(read, select.POLLIN)

    def _ended_by(self, number: int, frame) -> None:
        for worker in self.workers.values():
            worker.kill()
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)


class _Worker:
    """The caller's side of one worker: its pid, its two pipes, the items
    it holds (the first is the one it answers)."""

    def __init__(self, pid: int, tasks: int, results: int):
        self.pid, self.tasks, self.results = pid, tasks, results
        self.items: deque = deque()
        self.buffer = bytearray()
        self.ended: Optional[str] = None

    def received(self, data: bytes) -> Iterator[tuple]:
        """The complete (ok, value) messages that `data` ends."""
        self.buffer += data
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) < _HEADER.size + size:
                return
            message = bytes(self.buffer[_HEADER.size : _HEADER.size + size])
            del self.buffer[: _HEADER.size + size]
            yield pickle.loads(message)

    def kill(self) -> None:
        if self.ended is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap(self) -> str:
        """Wait for the worker's end (once); how it ended, in words."""
        if self.ended is None:
            for fd in (self.tasks, self.results):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                _, status = os.waitpid(self.pid, 0)
                self.ended = _status_text(status)
            except ChildProcessError:
                self.ended = "reaped elsewhere"
        return self.ended


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


# --- in the worker ------------------------------------------------------------


def _serve(function: Callable[[Any], Any], tasks: int, results: int, parent: int, mask) -> None:
    """The worker's loop: an item in, (ok, result or message) out, until the
    caller closes the pipe. Never returns, never runs the caller's clean-up.
    `mask`: the signal mask to restore once the handlers are the worker's."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the caller, which ends the workers
        for number in _ENDING:
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # held back across the fork (_start)
        die_with(parent)
        _one_thread()
        while True:
            frame = read_frame(tasks)
            if frame is None:
                break
            try:
                message = (True, function(pickle.loads(frame)))
            except BaseException as error:  # noqa: B036 - the worker must answer whatever happened
                message = (False, f"{type(error).__name__}: {error}")
            try:
                data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
            except Exception as error:
                data = pickle.dumps((False, f"the answer could not be sent: {type(error).__name__}: {error}"))
            write_frame(results, data)
    finally:
        os._exit(0)


def die_with(parent: int) -> None:
    """On Linux, the kernel kills this worker when its caller dies, even by
    SIGKILL; elsewhere the worker ends at its next read of the closed pipe."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the caller died before the request took effect
        os._exit(0)


def _one_thread() -> None:
    """torch's intra-op thread pool (OpenMP) is not safe across a fork: a
    worker whose parent had started it would wait forever on its threads.
    With one thread, torch runs every operation in the calling thread and
    never touches the pool. torch is set only if the caller loaded it."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _drain(fd: int) -> None:
    """Read a non-blocking pipe empty."""
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def read_frame(fd: int) -> Optional[bytes]:
    """One frame that write_frame wrote (its length, then its bytes); None at the pipe's end."""
    header = read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    return read_exactly(fd, size)


def read_exactly(fd: int, size: int) -> Optional[bytes]:
    """`size` bytes from `fd`; None when it ends first."""
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def write_frame(fd: int, data: bytes) -> None:
    """`data` as one frame: its length, then its bytes, all of them written."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]
