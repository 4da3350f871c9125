"""What one process keeps of rendered pieces in its own memory, in front of the shared cache:
the post blocks and thread pages it used last, up to a number of bytes (least recently used
first out), each until an optional time. Safe for the threads of one process.

Only for values whose key names them exactly (a post block by its content, a thread page by
its revision), so a copy found here is as right as one from Redis: a page made anew waits for
no round trip for its popular posts, and a popular page for none at all."""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict

from flask import current_app

# What one kept value costs beyond its strings: its tuple, its slot in the ordered dict.
_ENTRY_BYTES = 160


def footprint(key: str, value: list[str] | bytes) -> int:
    """The bytes a value kept in this process's memory takes: its strings as Python holds
    them (a non-ASCII character makes a string 2 or 4 bytes a character), its list, its key."""
    size = _ENTRY_BYTES + sys.getsizeof(key) + sys.getsizeof(value)
    if type(value) is bytes:
        return size
    return size + sum(map(sys.getsizeof, value))


class LocalMemory:
    """Lists of strings, or bytes, by key, up to `capacity` bytes (`footprint`)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.size = 0
        self._items: OrderedDict[str, tuple[list[str] | bytes, int, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys) -> dict[str, list[str] | bytes]:
        """The values kept of these keys (and not past their time)."""
        found = {}
        now = None
        with self._lock:
            for key in keys:
                item = self._items.get(key)
                if item is None:
                    continue
                if item[2] is not None:
                    now = now or time.time()
                    if item[2] <= now:
                        del self._items[key]
                        self.size -= item[1]
                        continue
                self._items.move_to_end(key)
                found[key] = item[0]
        return found

    def get(self, key: str) -> list[str] | bytes | None:
        return self.get_many((key,)).get(key)

    def put_many(self, values: dict[str, list[str] | bytes], until: float | None = None) -> None:
        """Keep these values (until the time `until`, a `time.time()`, when given)."""
        if not self.capacity:
            return
        with self._lock:
            for key, pieces in values.items():
                size = footprint(key, pieces)
                old = self._items.pop(key, None)
                if old is not None:
                    self.size -= old[1]
                if size <= self.capacity:
                    self._items[key] = (pieces, size, until)
                    self.size += size
            while self.size > self.capacity:
                _key, (_pieces, size, _until) = self._items.popitem(last=False)
                self.size -= size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._items)


EXTENSION = "forum.local_memory"
POST_BLOCKS = "post-blocks"
THREAD_PAGES = "thread-pages"


def init_app(app) -> None:
    """Each process's memories: of post blocks (FORUM_POST_BLOCK_MEMORY_MB) and of thread
    pages (FORUM_THREAD_PAGE_MEMORY_MB)."""
    app.extensions[EXTENSION] = {
        POST_BLOCKS: LocalMemory(app.config["POST_BLOCK_MEMORY_MB"] * 1_000_000),
        THREAD_PAGES: LocalMemory(app.config["THREAD_PAGE_MEMORY_MB"] * 1_000_000),
    }


def kept(name: str) -> LocalMemory:
    return current_app.extensions[EXTENSION][name]
