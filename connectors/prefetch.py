"""Read-ahead: run a page iterator in a background thread so the next page is fetched while this one merges.

Pages still arrive in order and one at a time; an exception raised by the iterator is re-raised to the
consumer after the pages read before it. At most ``depth`` pages wait in memory. When the consumer stops
early (an exception, ``close()``), the producer stops before its next page and closes the iterator.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    if depth <= 0:
        yield from pages
        return
    box: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not put((page, None)):
                    break
            else:
                put((_DONE, None))
        except BaseException as exc:  # handed to the consumer
            put((_DONE, exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing an abandoned generator
                    close()

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = box.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=60)
