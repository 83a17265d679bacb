"""Ctrl-C and SIGTERM, raised where it is safe to raise them.

Python runs a signal handler at the next bytecode, wherever that is, and an exception raised
inside a garbage-collector callback or a ``__del__`` is printed and dropped ("Exception
ignored in ..."): a search interrupted that way printed a traceback, carried on and exited 0.
So while training (or a search's trial loop) runs, the handler installed here only records the
signal, and the code raises it at points it chooses: before each mini-batch and each epoch
(:func:`check`), between trials.  Outside those regions, and on a second signal while one is
pending, the handler raises at once.

SIGINT raises ``KeyboardInterrupt``; SIGTERM raises :class:`autorec.errors.Terminated` (a
``KeyboardInterrupt``), so both take the same clean path.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

from ..errors import Terminated

_pending: int | None = None
_depth = 0
raised: int | None = None  # the last signal raised as an exception (the CLI's exit code says which)


def _exception(signum: int) -> KeyboardInterrupt:
    global raised
    raised = signum
    return Terminated(f"signal {signum}") if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum: int, _frame) -> None:
    global _pending
    if _depth > 0 and _pending is None:
        _pending = signum  # raised by check(), at a point of the code's choosing
        return
    _pending = None
    raise _exception(signum)


def check() -> None:
    """Raise the signal that arrived since the last check, if any."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        raise _exception(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A region in which signals wait for :func:`check` (checked again on the way out)."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
    if _depth == 0:
        check()


def install() -> Callable[[], None]:
    """Handle SIGINT and SIGTERM as above (main thread only); returns a function that puts
    the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        global _pending, raised
        _pending = raised = None  # nothing carries over to the next command in this process
        for s, h in previous.items():
            signal.signal(s, h)
    return restore
