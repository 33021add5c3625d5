"""Computations in forked children, so that Ctrl-C ends one at once.

Python delivers KeyboardInterrupt only between bytecodes: a line of the
REPL that spends seconds inside one call into C++ (a backward pass over
millions of graph nodes, SymEngine, FLINT) would go on until that call
returns, and then free what it built. The REPL answers each command line
in a child process that has torch, SymPy and the session's code already:
on Ctrl-C the child is told (a child in Python code stops at once), given
GRACE_SECONDS, then killed, and the session is back at its prompt. The
session's state (point, names, settings) lives in the REPL's process; a
request carries what the child needs (the command line).

The children are forked by a zygote: one process forked from the REPL once
torch is loaded, which does nothing but fork. Forking the REPL itself for
every line would make the REPL pay a copy of each page it writes after
every fork (some 15 ms a line); the zygote writes nothing, so its forks
cost it nothing but the fork. Where the zygote cannot be had, the REPL
forks the children itself.

A child is forked ahead, as the resident server's are: while one answers
a line, the next is forked and, unless a line follows at once, warms up
(a computation out of sight touches the pages a computation needs, so that
the copies its fork owes are made before the line comes). A child says its
exit code on a pipe before it ends, so no answer waits for the kernel to
take a child apart.

torch's intra-op thread pool (OpenMP) must not start before a fork (a child
would wait forever on the parent's threads; see autodiff.parallel): the
REPL runs torch with one thread and each child gets the machine's threads
back.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
from typing import Callable, Optional

from autodiff.errors import EXIT_INTERNAL, EXIT_INTERRUPTED
from autodiff.parallel import die_with, read_exactly, read_frame, write_frame

AVAILABLE = hasattr(os, "fork") and hasattr(signal, "pthread_sigmask") and hasattr(socket, "send_fds")

# How long a child told of Ctrl-C may take to stop by itself before SIGKILL:
# Python code stops within microseconds; a call into C would not stop at all.
GRACE_SECONDS = 0.2
# A spare warms up only when no line has come this long after its fork: lines
# that come back to back (a pasted block, a program at the prompt) are
# answered cold at once rather than after a warm-up they would wait for; a
# person reads an answer and types the next line in longer than this.
WARM_AFTER_SECONDS = 0.25
_INT = struct.Struct("i")
_ORDER = struct.Struct("ci")  # to the zygote: b"f" (fork; the int: warm up) or b"s" (the status of a child)


class Children:
    """Children forked ahead, each answering one request: `serve(request)`
    (a JSON-able value) in the child, its exit code back in the parent."""

    def __init__(self, serve: Callable[[object], int], warm_up: Callable[[], None]):
        self.serve, self.warm_up = serve, warm_up
        self.threads: Optional[int] = None  # the machine's torch threads, given back to each child
        self.spare: Optional[_Child] = None
        self.zygote: Optional[_Zygote] = None
        self.started = False  # whether the zygote was tried
        self.ended: list[int] = []  # our own children ended and not yet waited for

    def keep_the_pool_for_children(self) -> None:
        """In the parent's main thread, once torch is imported (a thread count
        is the calling thread's): torch runs here with one thread, so that
        no OpenMP pool starts in the parent."""
        torch = sys.modules.get("torch")
        if torch is not None and self.threads is None:
            self.threads = torch.get_num_threads()
            torch.set_num_threads(1)

    def run(self, request: object) -> int:
        """The exit code of `serve(request)`, computed in a child that writes
        to this process's standard output and error. Ctrl-C while it runs:
        130, the child ended within GRACE_SECONDS (and no message: the
        caller says it)."""
        self._reap()
        child = None
        try:
            with _sigint_held():  # a Ctrl-C now comes once the child is known: it is ended too
                child = self._next()
                try:
                    child.send(request)
                except OSError:  # the spare died while it waited (killed, out of memory): a fresh one
                    self._forget(child)
                    child = self._spawn(warm=False)
                    child.send(request)
            code = child.code()
        except KeyboardInterrupt:
            if child is not None:
                self._end(child)
            code = EXIT_INTERRUPTED
        else:
            self._forget(child)
        self._order_spare()
        return code

    def _next(self) -> "_Child":
        """The spare, else a child made now (cold: its line is waiting)."""
        if self.spare is not None:
            child, self.spare = self.spare, None
            return child
        if self.zygote is not None and self.zygote.ordered:
            try:
                return self.zygote.take()
            except OSError:
                self._lose_the_zygote()
        return self._spawn(warm=False)

    def _order_spare(self) -> None:
        """The next line's child, made while this answer is read: the zygote
        forks it meanwhile (this process takes it when the line comes)."""
        with _sigint_held():
            if self.zygote is not None:
                try:
                    return self.zygote.order(warm=True)
                except OSError:
                    self._lose_the_zygote()
            try:
                self.spare = self._fork(warm=True)
            except OSError:  # no process to be had now (a limit, memory): the next line forks its own
                self.spare = None

    def _lose_the_zygote(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def close(self) -> None:
        """Kill the spare and the zygote (the session is leaving)."""
        if self.spare is not None:
            _signal(self.spare.pid, signal.SIGKILL)
            self._forget(self.spare)
            self.spare = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        self._reap()

    # ------------------------------------------------------------ children

    def _spawn(self, warm: bool) -> "_Child":
        """A child from the zygote (started at the first call), else forked here."""
        if not self.started:
            self.started = True
            self.zygote = _Zygote.start(self)
        if self.zygote is not None:
            try:
                return self.zygote.fork(warm)
            except OSError:  # the zygote is gone (killed): this process forks from now on
                self._lose_the_zygote()
        return self._fork(warm)

    def _fork(self, warm: bool) -> "_Child":
        """A child of this process; `warm`: one that warms up before it waits."""
        pid, requests, codes = fork_child(lambda r, c, mask: self.child(r, c, mask, warm))
        return _Child(pid, requests, codes, None)

    def child(self, requests: int, codes: int, mask, warm: bool) -> None:
        """In the child: warm up, wait for the request, answer it, say the
        exit code, and leave without the parent's clean-up."""
        code = EXIT_INTERNAL
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a spare is not the line Ctrl-C is for
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            die_with(os.getppid())
            torch = sys.modules.get("torch")
            if torch is not None and self.threads is not None:
                torch.set_num_threads(self.threads)
            if warm and not select.select([requests], [], [], WARM_AFTER_SECONDS)[0]:
                self.warm_up()
            request = read_frame(requests)
            if request is None:  # the parent left, or killed the spare
                os._exit(0)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            code = self.serve(json.loads(request))
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        except SystemExit as leaving:
            code = leaving.code if isinstance(leaving.code, int) else 0 if leaving.code is None else 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:  # noqa: BLE001 - a closed terminal: the code still goes back
                    pass
            try:
                os.write(codes, _INT.pack(code))
            finally:
                os._exit(code)

    def _end(self, child: "_Child") -> None:
        """The child may have had Ctrl-C with this process (one terminal, one
        process group) or not: it is told, given GRACE_SECONDS to say its
        code, then killed. A second Ctrl-C kills it at once."""
        said = None
        try:
            _signal(child.pid, signal.SIGINT)
            if select.select([child.codes], [], [], GRACE_SECONDS)[0]:
                said = read_exactly(child.codes, _INT.size)
        except KeyboardInterrupt:
            pass
        if said is None:  # stuck (in C), or a second Ctrl-C
            _signal(child.pid, signal.SIGKILL)
        child.close()
        self._forget(child)  # gigabytes take a while to be taken apart: not waited for here

    def _forget(self, child: "_Child") -> None:
        child.close()
        if child.zygote is None and child.pid > 0:  # the zygote's children are the zygote's to reap
            self.ended.append(child.pid)

    def _reap(self) -> None:
        for pid in list(self.ended):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.ended.remove(pid)


@contextlib.contextmanager
def _sigint_held():
    """SIGINT held back for the block; one that came meanwhile is raised as it ends."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT,))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def fork_child(body: Callable[[int, int, object], None]) -> tuple[int, int, int]:
    """Fork a child that runs `body(requests, codes, mask)` and never returns;
    here its pid, the pipe its request goes down and the pipe its code comes up.
    SIGINT is held back across the fork: in the child it must meet the child's
    handler, never the parent's stack; in the parent it must find the child
    known, so that the child is ended too."""
    for stream in (sys.stdout, sys.stderr):  # a fork duplicates what is still buffered
        stream.flush()
    requests_read, requests_write = os.pipe()
    codes_read, codes_write = os.pipe()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT,))
    try:
        pid = os.fork()
        if pid == 0:
            os.close(requests_write)
            os.close(codes_read)
            body(requests_read, codes_write, mask - {signal.SIGINT})  # held here, perhaps: never in a child
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.close(requests_read)
    os.close(codes_write)
    return pid, requests_write, codes_read


class _Zygote:
    """A process that forks the children, on orders over a socket: each
    child's pipes come back with SCM_RIGHTS, and its exit status on asking."""

    def __init__(self, pid: int, control: socket.socket):
        self.pid, self.control = pid, control
        self.ordered = 0  # children ordered and not yet taken
        self.taken: list[_Child] = []  # answers read ahead of a status (see status)

    @classmethod
    def start(cls, children: Children) -> Optional["_Zygote"]:
        try:
            ours, theirs = socket.socketpair()
            pid, requests, codes = fork_child(lambda r, c, mask: _zygote(children, theirs, ours, mask))
        except OSError:
            return None
        theirs.close()
        for fd in (requests, codes):  # the zygote's own pipes go unused: the socket is its line
            os.close(fd)
        return cls(pid, ours)

    def order(self, warm: bool) -> None:
        """Have a child forked; its answer is read by take (the zygote forks meanwhile)."""
        self.control.sendall(_ORDER.pack(b"f", int(warm)))
        self.ordered += 1

    def take(self) -> "_Child":
        """The child ordered first."""
        if self.taken:
            self.ordered -= 1
            return self.taken.pop(0)
        data, fds = self._answer(fds=2)
        self.ordered -= 1
        if len(fds) != 2:
            raise OSError("the zygote sent no child")
        return _Child(_INT.unpack(data)[0], fds[0], fds[1], self)

    def fork(self, warm: bool) -> "_Child":
        with _sigint_held():  # a Ctrl-C between the order and its answer would leave the answer behind
            self.order(warm)
            return self.take()

    def status(self, pid: int) -> int:
        """A child's wait status (it has ended), once the children ordered before are read."""
        with _sigint_held():
            while len(self.taken) < self.ordered:
                data, fds = self._answer(fds=2)
                self.taken.append(_Child(_INT.unpack(data)[0], fds[0], fds[1], self))
            self.control.sendall(_ORDER.pack(b"s", pid))
            return _INT.unpack(self._answer()[0])[0]

    def _answer(self, fds: int = 0) -> tuple[bytes, list[int]]:
        if fds:
            data, received, _, _ = socket.recv_fds(self.control, _INT.size, fds)
        else:
            data, received = self.control.recv(_INT.size), []
        if len(data) != _INT.size:
            raise OSError("the zygote is gone")
        return data, received

    def close(self) -> None:
        for child in self.taken:
            child.close()
        self.control.close()  # the zygote leaves at the end of its orders
        _signal(self.pid, signal.SIGKILL)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _zygote(children: Children, control: socket.socket, parents: socket.socket, mask) -> None:
    """In the zygote: fork a child per order until the REPL leaves."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the child answering a line
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        die_with(os.getppid())
        parents.close()
        # Frozen, every object so far is left alone by the children's collector,
        # which would otherwise write into each one it scans: a copy of every page.
        gc.freeze()
        statuses: dict[int, int] = {}  # children ended and reaped, by pid, until asked for
        while True:
            order = read_exactly(control.fileno(), _ORDER.size)
            if order is None:
                break
            kind, value = _ORDER.unpack(order)
            if kind == b"f":
                warm = bool(value)
                pid, requests, codes = fork_child(
                    lambda r, c, child_mask: _in_child_of_zygote(children, control, r, c, child_mask, warm))
                socket.send_fds(control, [_INT.pack(pid)], [requests, codes])
                os.close(requests)
                os.close(codes)
            else:
                control.sendall(_INT.pack(_status(value, statuses)))
            _reap_into(statuses)
    finally:
        os._exit(0)


def _in_child_of_zygote(children: Children, control: socket.socket, requests: int, codes: int, mask,
                        warm: bool) -> None:
    control.close()
    children.child(requests, codes, mask, warm)


def _status(pid: int, statuses: dict[int, int]) -> int:
    """A child's wait status: reaped already, or waited for now (it has ended:
    its code pipe closed); one reaped and dropped long ago reads as killed."""
    if pid in statuses:
        return statuses.pop(pid)
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return signal.SIGKILL


def _reap_into(statuses: dict[int, int]) -> None:
    """Reap the zygote's ended children (their statuses kept for asking; the oldest dropped)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        statuses[pid] = status
        if len(statuses) > 64:
            del statuses[next(iter(statuses))]


class _Child:
    """A child: its pid, the pipe its request goes down, the pipe its code
    comes up, and the zygote that forked it (None: this process)."""

    def __init__(self, pid: int, requests: int, codes: int, zygote: Optional[_Zygote]):
        self.pid, self.requests, self.codes, self.zygote = pid, requests, codes, zygote

    def send(self, request: object) -> None:
        write_frame(self.requests, json.dumps(request).encode())
        os.close(self.requests)
        self.requests = -1

    def code(self) -> int:
        """The exit code the child says; a child that ends without saying one
        (a crash, a kill) is a bug, said here."""
        data = read_exactly(self.codes, _INT.size)
        self.close()
        if data is not None:
            return _INT.unpack(data)[0]
        status = self.zygote.status(self.pid) if self.zygote is not None else os.waitpid(self.pid, 0)[1]
        if self.zygote is None:
            self.pid = -1  # waited for: nothing to reap
        return _crash(status)

    def close(self) -> None:
        for fd in (self.requests, self.codes):
            if fd >= 0:
                os.close(fd)
        self.requests = self.codes = -1


def _signal(pid: int, number: int) -> None:
    if pid > 0:
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass


def _crash(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return code
    if -code == signal.SIGINT:
        return EXIT_INTERRUPTED
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    sys.stderr.write(f"error: internal error: the computation was killed by {name} (out of memory, or a crash; "
                     "please report a crash)\n")
    sys.stderr.flush()
    return EXIT_INTERNAL
