"""The resident server: torch, SymPy and autodiff imported once, one forked
child per call (see autodiff.frontends.client for the other side).

    python -m autodiff.frontends.server [--idle SECONDS]

One server per user, on a Unix socket in the user's private directory
(`client.directory()`), answering only calls of the same user (peer
credentials) and of the same installation (`client.key()`: the version, the
package's files, the Python executable, the variables read at import time).

Each call is answered by a child of the server, forked ahead while the
previous call ran (a spare, waiting on a socket pair for its request): the
child takes the caller's standard streams (the descriptors themselves),
arguments, working directory, environment, umask and resource limits, and
runs the console script as the caller would have. One loop supervises every
call: it forwards the signals the caller receives (Ctrl-C, SIGTERM, SIGHUP,
window-size changes), ends the child if the caller goes away, and sends
back how the child ended. Idle for `--idle` seconds (default 15 minutes,
AUTODIFF_SERVER_IDLE), the server exits.
"""

from __future__ import annotations

import fcntl
import io
import os
import select
import signal
import socket
import struct
import sys
import time
from contextlib import suppress
from typing import Optional

from autodiff.frontends import client
from autodiff.frontends.client import SOCKET, Channel, control

_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
_GRACE_SECONDS = 1.0  # a child whose caller left gets SIGHUP, then this long before SIGKILL
_POLL_SECONDS = 0.02  # how often children are polled where no pidfd tells of their end


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    idle = float(os.environ.get("AUTODIFF_SERVER_IDLE") or client.IDLE_SECONDS)
    if "--idle" in args:
        idle = float(args[args.index("--idle") + 1])
    place = client.directory()
    own_key = client.key()
    lock = _lock(place, own_key)
    if lock is None:
        return 0  # this installation's server runs already, or is starting
    _warm_up()
    # Every object so far is shared with the children: the collector leaves
    # them alone, so that a child's collection copies none of their pages.
    import gc

    gc.collect()
    gc.freeze()
    listener = _listen(place)
    Server(listener, place, own_key, idle).run()
    return 0


def _lock(place: str, own_key: str):
    """The lock every live server holds; None where a server of this key
    holds it or one is starting. A server of another key is asked to stop."""
    lock = open(os.path.join(place, "server.lock"), "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return lock
    except BlockingIOError:
        pass
    status = control(place, "status")
    if status is None or status.get("key") == own_key:
        lock.close()
        return None
    control(place, "stop")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except BlockingIOError:
            time.sleep(0.05)
    lock.close()
    return None


def _warm_up() -> None:
    """Import what every command needs, and answer one expression out of
    sight, so that a child starts where a warm REPL is. Scalars only: no
    thread pool may start before a fork."""
    import contextlib

    from rich.console import Console

    from autodiff.commands import api
    from autodiff.frontends import cli, cli_analyses, cli_derivatives  # noqa: F401  (the app the child runs)
    from autodiff.presentation import render

    cli.command()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        render.render_report(api.grad("6*x^2+2*x+4", at={"x": 3}), Console(file=io.StringIO(), width=100))


def _listen(place: str) -> socket.socket:
    """A listening socket at place/SOCKET, put there at once (a rename)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = os.path.join(place, f"{SOCKET}.{os.getpid()}")
    with suppress(FileNotFoundError):
        os.unlink(temporary)
    listener.bind(temporary)
    listener.listen(64)
    os.rename(temporary, os.path.join(place, SOCKET))
    return listener


class Call:
    """A call being answered: the caller's connection and the child answering it."""

    def __init__(self, channel: Channel, child: int):
        self.channel, self.child = channel, child
        self.ended = _exit_watch(child)  # readable when the child ends; None: polled
        self.kill_at: Optional[float] = None  # the caller left: SIGKILL at this time if the child lives on


class Server:
    """One loop: new connections, the calls' forwarded signals, and the
    calls' children ending (each child a direct child of this process)."""

    def __init__(self, listener: socket.socket, place: str, key: str, idle: float):
        self.listener, self.place, self.key, self.idle = listener, place, key, idle
        self.path = os.path.join(place, SOCKET)
        self.started = time.time()
        self.requests = 0
        self.inode = os.stat(self.path).st_ino
        self.calls: list[Call] = []
        self.spare: Optional[tuple] = None  # (pid, line): a child forked ahead, waiting for the next call

    def run(self) -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.spare = self.fork_spare()
        while True:
            watched = [self.listener]
            for call in self.calls:
                watched += [call.channel.connection] + ([call.ended] if call.ended is not None else [])
            polled = any(call.ended is None or call.kill_at is not None for call in self.calls)
            buffered = any(call.channel.buffer for call in self.calls)  # a signal that came with the call
            timeout = 0 if buffered else _POLL_SECONDS if polled else None if self.calls else self.idle
            ready, _, _ = select.select(watched, [], [], timeout)
            if not ready and not self.calls:
                return self.leave()
            for call in list(self.calls):
                self.follow(call, ready)
            if self.listener in ready:
                try:
                    connection, _ = self.listener.accept()
                except OSError:
                    continue
                if not self.handle(connection):
                    return self.leave()

    def follow(self, call: Call, ready: list) -> None:
        """A signal to forward, a caller gone, or the child ended."""
        if (call.channel.connection in ready or call.channel.buffer) and call.kill_at is None:
            try:
                forwarded, _ = call.channel.receive()
            except (OSError, ValueError):
                forwarded = None
            if forwarded is None:  # the caller is gone: so is its answer (SIGHUP, as a closed terminal)
                call.kill_at = time.monotonic() + _GRACE_SECONDS
                _signal(call.child, signal.SIGHUP)
            else:
                _signal(call.child, int(forwarded["forward"]))
        if call.kill_at is not None and time.monotonic() > call.kill_at:
            _signal(call.child, signal.SIGKILL)
        if call.ended is None or call.ended in ready or call.kill_at is not None:
            pid, status = os.waitpid(call.child, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                with suppress(OSError):
                    call.channel.send({"signal": -code} if code < 0 else {"exit": code})
                self.finish(call)

    def finish(self, call: Call) -> None:
        self.calls.remove(call)
        call.channel.connection.close()
        if call.ended is not None:
            os.close(call.ended)

    def handle(self, connection: socket.socket) -> bool:
        """Take one connection; False when the server is to stop."""
        keep = False
        try:
            if _peer_uid(connection) != os.getuid():
                return True
            channel = Channel(connection)
            connection.settimeout(5)
            message, fds = channel.receive(fds=3)
            connection.settimeout(None)
            if message is None or message.get("protocol") != client.PROTOCOL:
                _close(fds)
                with suppress(OSError):
                    channel.send({"accepted": False, "reason": "protocol"})
                return True
            if "control" in message:
                return self.control(channel, message["control"])
            if message.get("key") != self.key or len(fds) != 3:
                _close(fds)
                channel.send({"accepted": False, "reason": "stale"})
                return True
            self.requests += 1
            child = self.hand_over(message, fds, connection)
            _close(fds)
            self.calls.append(Call(channel, child))  # before anything can fail: no child is ever left unwatched
            keep = True
            with suppress(OSError):  # a caller already gone is seen by the loop, which ends the child
                channel.send({"accepted": True, "pid": child})
            self.spare = self.spare or self.fork_spare()  # the next call's child, forked while this one runs
            return True
        except (OSError, ValueError):
            return True
        finally:
            if not keep:
                connection.close()

    def hand_over(self, message: dict, fds: list, connection: socket.socket) -> int:
        """The child that answers the call: the spare, forked before the call
        came (the fork of a 300 MiB process is then off the caller's time),
        else one forked now."""
        if self.spare is not None:
            child, line = self.spare
            self.spare = None
            try:
                Channel(line).send(message, fds)
                return child
            except OSError:  # the spare died: reap it, fork one now
                _signal(child, signal.SIGKILL)
                os.waitpid(child, 0)
            finally:
                line.close()
        child = os.fork()
        if child == 0:
            self.forked()
            connection.close()
            answer(message, fds)  # never returns
        return child

    def fork_spare(self) -> Optional[tuple]:
        """A child that waits for the next call (its request and streams come
        over a socket pair); None where it cannot be made."""
        try:
            line, spare_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return None
        child = os.fork()
        if child == 0:
            self.forked()
            line.close()
            message, fds = Channel(spare_end).receive(fds=3)
            spare_end.close()
            if message is None:  # the server stopped: no call will come
                os._exit(0)
            answer(message, fds)  # never returns
        spare_end.close()
        return child, line

    def forked(self) -> None:
        """In a new child: let go of what is the server's (the listener, the
        other callers' connections, the spare's line)."""
        self.listener.close()
        for call in self.calls:
            call.channel.connection.close()
        if self.spare is not None:
            self.spare[1].close()

    def control(self, channel: Channel, action: str) -> bool:
        if action == "stop":
            for call in self.calls:  # a stopped server leaves no child behind
                _signal(call.child, signal.SIGHUP)
            channel.send({"stopping": True, "pid": os.getpid()})
            return False
        channel.send({
            "pid": os.getpid(), "uptime": time.time() - self.started, "requests": self.requests,
            "memory": _resident_bytes(), "key": self.key, "socket": self.path,
            "spare": None if self.spare is None else self.spare[0], "calls": [call.child for call in self.calls],
        })
        return True

    def leave(self) -> None:
        """Remove the socket where it is still this server's; the spare,
        whose line closes, leaves too."""
        if self.spare is not None:
            child, line = self.spare
            line.close()
            with suppress(ChildProcessError):
                os.waitpid(child, 0)
        with suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)


def _signal(child: int, number: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(child, number)


def _exit_watch(child: int) -> Optional[int]:
    """A descriptor readable when `child` ends (Linux 5.3+); None: polled."""
    try:
        return os.pidfd_open(child)
    except (AttributeError, OSError):
        return None


def answer(message: dict, fds: list[int]) -> None:
    """In the child: become the caller's process, then run the console script."""
    code = 70
    try:
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        _close([fd for fd in fds if fd > 2])
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
        os.chdir(message["cwd"])
        os.umask(int(message["umask"]))
        _set_rlimits(message.get("rlimits", {}))
        os.environ.clear()
        os.environ.update(message["env"])
        sys.argv = list(message["argv"])
        _streams(message["streams"])
        from autodiff.frontends.console_script import main as console_script

        console_script(resident=False)  # ends with os._exit
        code = 0
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else 1
    except KeyboardInterrupt:
        code = 130
    finally:
        os._exit(code)


def _streams(settings: dict) -> None:
    """sys.stdin, stdout and stderr over descriptors 0, 1 and 2, set up as
    Python set up the caller's."""
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        given = settings[name]
        stream = open(fd, mode, encoding=given["encoding"], errors=given["errors"], closefd=False,
                      buffering=1 if given["line_buffering"] and mode == "w" else -1)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _set_rlimits(limits: dict) -> None:
    import resource

    for name, (soft, hard) in limits.items():
        number = getattr(resource, name, None)
        if number is not None:
            with suppress(ValueError, OSError):
                resource.setrlimit(number, (soft, hard))


def _peer_uid(connection: socket.socket) -> Optional[int]:
    if hasattr(socket, "SO_PEERCRED"):
        data = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
        return _CREDENTIALS.unpack(data)[1]
    if hasattr(os, "getpeereid"):  # the BSDs and macOS
        return os.getpeereid(connection.fileno())[0]  # type: ignore[attr-defined]
    return None


def _resident_bytes() -> Optional[int]:
    try:
        with open("/proc/self/status") as status:
            lines = status.read().splitlines()
        for line in lines:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _close(fds) -> None:
    for fd in fds:
        with suppress(OSError):
            os.close(fd)


if __name__ == "__main__":
    raise SystemExit(main())
