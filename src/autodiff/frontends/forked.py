"""Computations in forked children, so that Ctrl-C ends one at once.

Python delivers KeyboardInterrupt only between bytecodes: a line of the
REPL that spends seconds inside one call into C++ (a backward pass over
millions of graph nodes, SymEngine, FLINT) would go on until that call
returns, and then free what it built. The REPL answers each command line
in a child forked from it, which has torch, SymPy and the session's code
already: on Ctrl-C the child is told (a child in Python code stops at
once), given GRACE_SECONDS, then killed, and the session is back at its
prompt. The session's state (point, names, settings) lives in the parent;
a request carries what the child needs (the command line).

The children are forked ahead, as the resident server's are: while one
answers a line, the next is forked and, unless a line follows at once,
warms up (a computation out of sight touches the pages a computation
needs, so that the copies a fork owes are made before the line comes). A child says its exit code on a pipe
before it ends, so no answer waits for the kernel to take a child apart.

torch's intra-op thread pool (OpenMP) must not start before a fork (a child
would wait forever on the parent's threads; see autodiff.parallel): the
parent runs torch with one thread and each child gets the machine's
threads back.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import sys
import time
from typing import Callable, Optional

from autodiff.errors import EXIT_INTERNAL, EXIT_INTERRUPTED
from autodiff.parallel import die_with

AVAILABLE = hasattr(os, "fork") and hasattr(signal, "pthread_sigmask")

# How long a child told of Ctrl-C may take to stop by itself before SIGKILL:
# Python code stops within microseconds; a call into C would not stop at all.
GRACE_SECONDS = 0.2
_STEP_SECONDS = 0.01
# A spare warms up only when no line has come this long after its fork: lines
# that come back to back (a pasted block) are answered cold at once rather
# than after a warm-up they would wait for.
WARM_AFTER_SECONDS = 0.05
_CODE = struct.Struct("i")


class Children:
    """Children forked ahead, each answering one request: `serve(request)`
    (a JSON-able value) in the child, its exit code back in the parent."""

    def __init__(self, serve: Callable[[object], int], warm_up: Callable[[], None]):
        self.serve, self.warm_up = serve, warm_up
        self.threads: Optional[int] = None  # the machine's torch threads, given back to each child
        self.spare: Optional[_Child] = None
        self.ended: list[int] = []  # killed and not yet waited for (the kernel frees their memory meanwhile)

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
        child, self.spare = self.spare or self._fork(warm=False), None
        try:
            child.send(request)
        except OSError:  # the spare died while it waited (killed, out of memory): a fresh one
            self.ended.append(child.pid)
            child = self._fork(warm=False)
            child.send(request)
        try:
            self.spare = self._fork(warm=True)  # the next line's, warming up while this one is answered
            code = child.code()
        except KeyboardInterrupt:
            self._end(child)
            return EXIT_INTERRUPTED
        self.ended.append(child.pid)
        return code

    def close(self) -> None:
        """Kill the spare (the session is leaving)."""
        if self.spare is not None:
            _signal(self.spare.pid, signal.SIGKILL)
            self.ended.append(self.spare.pid)
            self.spare = None
        self._reap()

    def _fork(self, warm: bool) -> "_Child":
        """A child; `warm`: one that warms up before it waits for its request."""
        for stream in (sys.stdout, sys.stderr):  # a fork duplicates what is still buffered
            stream.flush()
        parent = os.getpid()
        requests_read, requests_write = os.pipe()
        codes_read, codes_write = os.pipe()
        # Signals are held back across the fork: in the child SIGINT must meet
        # the child's handler, never the parent's stack; in the parent it must
        # find the child known, so that the child is ended too.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT,))
        try:
            pid = os.fork()
            if pid == 0:
                os.close(requests_write)
                os.close(codes_read)
                self._child(requests_read, codes_write, parent, mask, warm)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(requests_read)
        os.close(codes_write)
        return _Child(pid, requests_write, codes_read)

    def _child(self, requests: int, codes: int, parent: int, mask, warm: bool) -> None:
        """In the child: warm up, wait for the request, answer it, say the
        exit code, and leave without the parent's clean-up."""
        code = EXIT_INTERNAL
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a spare is not the line Ctrl-C is for
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            die_with(parent)
            if self.spare is not None:  # the parent's spare, inherited: not this child's to answer
                os.close(self.spare.requests)
                os.close(self.spare.codes)
            torch = sys.modules.get("torch")
            if torch is not None and self.threads is not None:
                torch.set_num_threads(self.threads)
            if warm and not select.select([requests], [], [], WARM_AFTER_SECONDS)[0]:
                self.warm_up()
            request = _read_request(requests)
            if request is None:  # the parent left, or killed the spare
                os._exit(0)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            code = self.serve(request)
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
                os.write(codes, _CODE.pack(code))
            finally:
                os._exit(code)

    def _end(self, child: "_Child") -> None:
        """The child was sent Ctrl-C with this process (one terminal, one
        process group) or not (this process runs under the resident server):
        it is told, given GRACE_SECONDS, then killed. A second Ctrl-C kills
        it at once."""
        try:
            _signal(child.pid, signal.SIGINT)
            deadline = time.monotonic() + GRACE_SECONDS
            while time.monotonic() < deadline:
                done, _ = os.waitpid(child.pid, os.WNOHANG)
                if done:
                    child.close()
                    return
                time.sleep(_STEP_SECONDS)
        except KeyboardInterrupt:
            pass
        _signal(child.pid, signal.SIGKILL)
        child.close()
        self.ended.append(child.pid)  # gigabytes take a while to be taken apart: not waited for here

    def _reap(self) -> None:
        for pid in list(self.ended):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.ended.remove(pid)


class _Child:
    """A forked child: its pid, the pipe its request goes down, the pipe its code comes up."""

    def __init__(self, pid: int, requests: int, codes: int):
        self.pid, self.requests, self.codes = pid, requests, codes

    def send(self, request: object) -> None:
        data = json.dumps(request).encode()
        os.write(self.requests, _CODE.pack(len(data)) + data)
        os.close(self.requests)
        self.requests = -1

    def code(self) -> int:
        """The exit code the child says; a child that ends without saying one
        (a crash, a kill) is a bug, said here."""
        data = _read_exactly(self.codes, _CODE.size)
        self.close()
        if data is not None:
            return _CODE.unpack(data)[0]
        _, status = os.waitpid(self.pid, 0)
        return _crash(status)

    def close(self) -> None:
        for fd in (self.requests, self.codes):
            if fd >= 0:
                os.close(fd)
        self.requests = self.codes = -1


def _read_request(fd: int) -> object:
    """The request the parent sent; None when the pipe closed without one."""
    head = _read_exactly(fd, _CODE.size)
    if head is None:
        return None
    body = _read_exactly(fd, _CODE.unpack(head)[0])
    return None if body is None else json.loads(body)


def _read_exactly(fd: int, size: int) -> Optional[bytes]:
    data = b""
    while len(data) < size:
        part = os.read(fd, size - len(data))
        if not part:
            return None
        data += part
    return data


def _signal(pid: int, number: int) -> None:
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
    sys.stderr.write(f"error: internal error: the computation ended by {name} (please report this)\n")
    sys.stderr.flush()
    return EXIT_INTERNAL
