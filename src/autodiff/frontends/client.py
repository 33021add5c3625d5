"""The console script's first step: hand the call to the resident server.

A one-shot `autodiff grad …` spends most of its time importing torch and
SymPy. A resident server (autodiff.frontends.server) holds them imported and
forks one child per call; this client passes it the call — the arguments,
the working directory, the environment, the umask, the resource limits and
the three standard streams themselves (file descriptors over a Unix socket)
— forwards the signals it receives, and exits as the child did. Output,
terminal width, colour and streaming are then exactly those of a run in
this process.

Any problem (no server, a server of another installation, an unreadable
reply) is answered by running in this process, as if there were no server;
the first call that finds none starts one in the background and does not
wait for it. Only the standard library is imported here.
"""

from __future__ import annotations

import _signal as signal  # the C modules: `signal` and `socket` import enum (and re), milliseconds here
import _socket as socket
import array
import marshal
import os
import struct
import sys

from autodiff.errors import EXIT_INTERNAL

# This module is the start of every call: it imports no more than it needs
# (no typing, pathlib, json, hashlib or subprocess: each costs milliseconds).
# Messages are marshal's: both sides are the same Python (it is in the key).

PROTOCOL = 1
SOCKET = "server.sock"
IDLE_SECONDS = 15 * 60  # a server with no call for this long exits (AUTODIFF_SERVER_IDLE)
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGWINCH", "SIGQUIT")
# Variables read when torch, SymPy and Python start (threads, devices, paths,
# the locale): a server started under other values is another server.
_KEY_PREFIXES = ("PYTHON", "TORCH", "PYTORCH", "CUDA", "OMP_", "MKL_", "OPENBLAS", "KMP_", "SYMPY", "MPMATH",
                 "LD_", "LC_", "LANG")
_IN_PROCESS = ("repl", "server")  # an interactive session, and the server's own command
_HEADER = struct.Struct("!I")


def enabled(environ=os.environ) -> bool:
    """Whether calls go through the server: not with AUTODIFF_SERVER=off, not
    under CI (unless AUTODIFF_SERVER=on), and only where fork and Unix sockets exist."""
    setting = environ.get("AUTODIFF_SERVER", "").strip().lower()
    if setting in ("off", "0", "no", "false"):
        return False
    if environ.get("CI") and setting not in ("on", "1", "yes", "true"):
        return False
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "SCM_RIGHTS")


def directory(environ=os.environ) -> str:
    """The user's private directory for the socket (0700, owned by the user):
    $XDG_RUNTIME_DIR/autodiff, else autodiff-UID in the temporary directory."""
    import stat

    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        base = os.path.join(runtime, "autodiff")
    else:
        import tempfile

        base = os.path.join(tempfile.gettempdir(), f"autodiff-{os.getuid()}")
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    status = os.lstat(base)
    if status.st_uid != os.getuid() or status.st_mode & 0o077 or not stat.S_ISDIR(status.st_mode):
        raise PermissionError(f"{base} is not a private directory of this user")
    return base


def key(environ=os.environ) -> str:
    """What a server must share with a call to answer it: the version, the
    package's files (an edited checkout is another installation), the Python
    executable and the variables read at import time."""
    from _blake2 import blake2b  # hashlib's own, without loading OpenSSL

    from autodiff import __version__

    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    digest = blake2b(f"{PROTOCOL}\0{__version__}\0{sys.executable}\0{package}".encode(), digest_size=16)
    for path, status in sorted(_sources(package)):
        digest.update(f"\0{path}\0{status.st_size}\0{status.st_mtime_ns}".encode())
    for name in sorted(environ):
        if name.startswith(_KEY_PREFIXES) or (name.startswith("AUTODIFF_") and not name.startswith("AUTODIFF_SERVER")):
            digest.update(f"\0{name}={environ[name]}".encode())
    return digest.hexdigest()


def _sources(folder: str):
    """(path, stat) of every .py file below `folder`."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                yield from _sources(entry.path)
            elif entry.name.endswith(".py"):
                yield entry.path, entry.stat()


class Channel:
    """Length-prefixed messages (dicts of plain values) over a Unix stream
    socket, the first of them able to carry file descriptors."""

    def __init__(self, connection):
        self.connection = connection
        self.buffer = bytearray()

    def send(self, message: dict, fds=()) -> None:
        data = marshal.dumps(message)
        payload = _HEADER.pack(len(data)) + data
        sent = 0
        if fds:
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            sent = self.connection.sendmsg([payload], rights)
        if sent < len(payload):  # (nothing left: no send, which would fail on a peer that already answered)
            self.connection.sendall(payload[sent:])

    def receive(self, fds: int = 0) -> tuple:
        """The next message (None where the other side closed first), with
        the descriptors that came with it (at most `fds`)."""
        received: list = []
        if fds:
            data, ancillary, _, _ = self.connection.recvmsg(1 << 16, socket.CMSG_LEN(fds * 4))
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    descriptors = array.array("i")
                    descriptors.frombytes(payload[: len(payload) - len(payload) % descriptors.itemsize])
                    received += list(descriptors)
            if not data:
                return None, received
            self.buffer += data
        while True:
            if len(self.buffer) >= _HEADER.size:
                (length,) = _HEADER.unpack_from(self.buffer)
                end = _HEADER.size + length
                if len(self.buffer) >= end:
                    body = bytes(self.buffer[_HEADER.size:end])
                    del self.buffer[:end]
                    return marshal.loads(body), received
            try:
                data = self.connection.recv(1 << 16)
            except InterruptedError:
                continue
            if not data:
                return None, received
            self.buffer += data


def answer(argv: list) -> int | None:
    """The exit code of `argv` answered by the server; None where this
    process must answer it itself (then a server may be starting)."""
    if not enabled() or (argv and argv[0] in _IN_PROCESS) or not _streams_open():
        return None
    try:
        place = directory()
        call_key = key()
    except OSError:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(os.path.join(place, SOCKET))
    except OSError:
        connection.close()
        start(place)
        return None
    try:
        return _ask(connection, argv, call_key, place)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # nothing was run, or the server died before it said: run here
    finally:
        connection.close()


def _ask(connection, argv: list, call_key: str, place: str) -> int | None:
    channel = Channel(connection)
    umask = os.umask(0)
    os.umask(umask)
    # The signals are forwarded from before the call is sent: one that comes
    # before the server takes the call reaches the child all the same.
    caught: list = []
    previous = {}
    for name in FORWARDED:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, lambda signum, frame: _forward(channel, signum, caught))
    try:
        channel.send({
            "protocol": PROTOCOL, "key": call_key, "argv": [sys.argv[0], *argv], "cwd": os.getcwd(),
            "env": dict(os.environ), "umask": umask, "rlimits": _rlimits(), "streams": _stream_settings(),
        }, fds=(0, 1, 2))
        reply, _ = channel.receive()
        if reply is None or reply.get("accepted") is not True:
            if reply is not None and reply.get("reason") == "stale":
                start(place)  # this installation's own server replaces the other
            # Not taken: this process answers, unless it was told to stop meanwhile.
            return 128 + caught[0] if caught and caught[0] != getattr(signal, "SIGWINCH", None) else None
        # From here the child is running: its outcome is the answer, whatever happens.
        try:
            status, _ = channel.receive()
        except (OSError, ValueError):
            status = None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if status is None:  # the child ran (part of the answer may be out): never run it a second time here
        os.write(2, b"error: the autodiff server stopped before the answer was finished (AUTODIFF_SERVER=off runs without it)\n")
        return EXIT_INTERNAL
    if "signal" in status:  # the child was killed by a signal: so is this process
        number = int(status["signal"])
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return int(status["exit"])


def _forward(channel: Channel, signum: int, caught: list) -> None:
    caught.append(signum)
    try:
        channel.send({"forward": signum})
    except OSError:
        pass


def _streams_open() -> bool:
    """Standard input, output and error are all open (else this process says
    what is wrong with them, as it always has)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            return False
    return all(stream is not None for stream in (sys.stdin, sys.stdout, sys.stderr))


def _stream_settings() -> dict:
    """How Python set up this process's text streams (encoding, errors,
    buffering), for the child's streams over the same descriptors."""
    return {
        name: {"encoding": stream.encoding, "errors": stream.errors, "line_buffering": stream.line_buffering}
        for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout), ("stderr", sys.stderr))
    }


def _rlimits() -> dict:
    try:
        import resource
    except ImportError:
        return {}
    limits = {}
    for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_STACK", "RLIMIT_CORE"):
        number = getattr(resource, name, None)
        if number is not None:
            limits[name] = list(resource.getrlimit(number))
    return limits


def start(place: str, idle: float | None = None) -> None:
    """Start a server in the background (its own session, no terminal); it
    leaves at once where one of this installation runs or is starting."""
    import subprocess

    try:
        subprocess.Popen(
            [sys.executable, "-m", "autodiff.frontends.server", *(["--idle", repr(idle)] if idle is not None else [])],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, cwd=place,
        )
    except OSError:
        pass


# --- `autodiff server start|stop|status` ---------------------------------------


def control(place: str, action: str, timeout: float = 5.0) -> dict | None:
    """Ask the running server for its status or to stop; None where none answers."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        connection.connect(os.path.join(place, SOCKET))
        channel = Channel(connection)
        channel.send({"protocol": PROTOCOL, "control": action})
        reply, _ = channel.receive()
        return reply
    except (OSError, ValueError):
        return None
    finally:
        connection.close()


def command(action: str, idle: float | None, json_output: bool) -> int:
    """`autodiff server start|stop|status`: the exit code; 1 where no server runs (status, stop)."""
    import time

    place = directory()
    status = control(place, "status")
    if action == "start":
        own_key = key()
        if status is None or status.get("key") != own_key:
            start(place, idle)
            deadline = time.monotonic() + 120
            while (status is None or status.get("key") != own_key) and time.monotonic() < deadline:
                time.sleep(0.1)
                status = control(place, "status")
            if status is None or status.get("key") != own_key:
                return _say({"running": False, "error": "the server did not start within 120 s"}, json_output, 1)
        if not enabled():
            sys.stderr.write("warning: calls do not use the server while AUTODIFF_SERVER=off or CI is set\n")
        return _say({"running": True, **status}, json_output, 0)
    if status is None:
        return _say({"running": False}, json_output, 1)
    if action == "status":
        return _say({"running": True, **status}, json_output, 0)
    control(place, "stop")
    deadline = time.monotonic() + 10
    while _alive(status["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _say({"running": _alive(status["pid"]), "stopped": status["pid"]}, json_output, 0)


def _say(status: dict, json_output: bool, code: int) -> int:
    import json

    if json_output:
        sys.stdout.write(json.dumps(status) + "\n")
    elif "error" in status:
        sys.stderr.write(f"error: {status['error']}\n")
    elif "stopped" in status:
        sys.stdout.write(f"stopped the server (pid {status['stopped']})\n")
    elif not status["running"]:
        sys.stdout.write("no server is running\n")
    else:
        memory = status.get("memory")
        sys.stdout.write(
            f"pid {status['pid']}, up {status['uptime']:.0f} s, {status['requests']} calls answered, "
            f"{'?' if memory is None else f'{memory / 2**20:.0f} MiB'} resident, key {status['key']}\n"
            f"socket {status['socket']}\n"
        )
    return code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
