"""The Whoosh index of threads: write, remove, query and suggest."""

from __future__ import annotations

import ctypes
import multiprocessing.util
import os
import pickle
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from whoosh import fields, index, qparser, query, scoring, sorting
from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.codec import whoosh3
from whoosh.reading import ReaderClosed
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map
from whoosh.writing import MERGE_SMALL

from . import ranking, snippets
from .documents import Hit, SearchQuery, SearchResults, ThreadDocument

# Stemming ("pairing" finds "paired") and accent folding ("café" finds "cafe").
ANALYZER = StemmingAnalyzer() | CharsetFilter(accent_map)
_stem = snippets.make_stemmer(ANALYZER)
TITLE_BOOST = 3.0
# Similar questions below this share of the best one's score are left out.
RELEVANCE_BAR = 0.35
WRITE_LOCK_TIMEOUT = 30.0  # seconds a writer waits for another process's lock
# How often a waiting writer looks for the lock again (a background merge holds it): with
# Whoosh's usual pause (0.05 s) the next batch of posts could wait up to that much longer than
# the merge to be indexed.
WRITE_LOCK_POLL = 0.005
# Snippets come from the first part of a thread (question, then marked answers first): keeping
# only that stored makes hits cheap to load and to highlight. The whole thread is indexed.
EXCERPT_CHARS = 1500
# Words found in more than this share of threads (but at least COMMON_MIN_THREADS) are
# "common": when a search has rarer words, it matches and ranks by those, instead of walking
# most of the index (the idea of Elasticsearch's cutoff_frequency). On 100k threads, the
# words of "how does it work" are each in 30-60% of them.
COMMON_TERM_SHARE = 0.05
COMMON_MIN_THREADS = 1000
QUERY_SYNTAX = re.compile(r'"|\b(?:AND|OR|NOT)\b')
# Changes whenever the schema or the way documents are analysed changes: an index written
# in another format must be rebuilt (`flask search reindex`).
INDEX_FORMAT = "3"
# Segments stay as separate files instead of one compound file: opening a searcher then maps
# a few small files instead of reading one large one (on 100k threads: <1 ms instead of
# ~120 ms and ~430 MB), which matters because every commit makes searchers reopen.
WRITER_OPTIONS = {"compound": False}
# Single commits leave one small segment each; past this many, they are merged (off the
# request that made them). Each segment costs a little on every search.
MAX_UNMERGED_SEGMENTS = 12
# How often a read or an open is tried when the index changed under it (see SearchIndex._read).
READ_ATTEMPTS = 5
# Whoosh pickles each block of postings with protocol 2, in which every posting's positions
# (a bytes value) are rebuilt through a call of codecs.encode when the block is read: 126 µs
# a block of 128 postings, most of a search's time, against 28 µs with protocol 4, at half
# the size on disk. Whoosh reads either; blocks written from here on (new segments, merges,
# `flask search reindex`) use this one.
BLOCK_PICKLE_PROTOCOL = 4


def _dumps_block(value, protocol=None) -> bytes:
    return pickle.dumps(value, BLOCK_PICKLE_PROTOCOL)


whoosh3.dumps = _dumps_block


def make_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.NUMERIC(int, bits=32, stored=True, unique=True, signed=False),
        # "Did you mean" draws on title words: a spelling graph of every body costs more
        # to write than it adds.
        title=fields.TEXT(analyzer=ANALYZER, stored=True, field_boost=TITLE_BOOST, spelling=True),
        body=fields.TEXT(analyzer=ANALYZER),
        excerpt=fields.STORED(),
        product=fields.ID(stored=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True),
        state=fields.ID(stored=True),
        flags=fields.KEYWORD(stored=True),  # "solved verified": is: filters that can overlap
        score=fields.NUMERIC(int, bits=32, stored=True, sortable=True),
        answer_count=fields.NUMERIC(int, stored=True),
        created_at=fields.DATETIME(stored=True, sortable=True),
        last_activity_at=fields.DATETIME(stored=True),
        revision=fields.NUMERIC(int, bits=32, stored=True, signed=False),
    )


@dataclass(frozen=True)
class _Words:
    """The query a search's words make; when it is a plain Or of terms (an And when `every`),
    the terms too, for the block-at-a-time ranking (`ranking.rank`)."""

    query: query.Query
    terms: tuple[tuple[str, str], ...] = ()
    every: bool = False


def _naive_utc(value: datetime) -> datetime:
    # Whoosh stores naive datetimes; keep them in UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def die_with_parent(_index=None) -> None:
    """In a helper process (a rebuild's, the worker's notification lane): be killed when the
    process that started it dies, even by SIGKILL, so that no helper lives on holding a lock
    or working for nobody (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _create(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    index.create_in(directory, make_schema())
    (directory / "FORMAT").write_text(INDEX_FORMAT)


def _format_of(directory: Path) -> str | None:
    try:
        return (directory / "FORMAT").read_text().strip()
    except OSError:
        return None


def _revisions_in(searcher, ids: list[int]) -> dict[int, int]:
    """The revision the index holds for each of these threads that it has."""
    held = {}
    for thread_id in set(ids):
        stored = searcher.document(id=thread_id)
        if stored is not None:
            held[thread_id] = stored.get("revision", 0)
    return held


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _opening(open_, *args, **kwargs):
    """Open (an index, a searcher) again if another process's commit deleted a file between
    Whoosh listing it and opening it: its table of contents or a segment it had just merged
    away. The next try reads the newer table."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return open_(*args, **kwargs)
        except FileNotFoundError:
            if attempt == READ_ATTEMPTS - 1:
                raise
            time.sleep(0.002 * (attempt + 1))


class _FilesOpened:
    """An index's storage as one opening of a searcher sees it: it remembers the files it
    opens until the opening is done (`opening = None`), so that an opening that fails can
    close them. Whoosh opens a segment's files as it goes, and when another process's merge
    deleted a later segment's file it leaves the ones already open to the garbage collector."""

    def __init__(self, storage):
        self._storage = storage
        self.opening: list | None = []

    def open_file(self, name, *args, **kwargs):
        handle = self._storage.open_file(name, *args, **kwargs)
        if self.opening is not None:
            self.opening.append(handle)
        return handle

    def __getattr__(self, name):
        return getattr(self._storage, name)


def _new_searcher(ix, **kwargs) -> Searcher:
    """`ix.searcher(**kwargs)` that closes what it opened when a file vanished under it (the
    caller tries again: `_opening`)."""
    info = ix._read_toc()
    storage = _FilesOpened(ix.storage)
    try:
        reader = ix._reader(storage, info.schema, info.segments, info.generation)
    except BaseException:
        for handle in storage.opening:
            handle.close()
        raise
    storage.opening = None
    return Searcher(reader, fromindex=ix, **kwargs)


def _terms(text: str) -> frozenset[str]:
    """The indexed forms of the words of `text`, for marking them in titles and snippets."""
    return frozenset(token.text for token in ANALYZER(text)) if text else frozenset()


def _snippet(excerpt: str, terms: frozenset[str]):
    return snippets.snippet(excerpt, terms, _stem) or [
        (excerpt[:180] + ("…" if len(excerpt) > 180 else ""), False)
    ]


def _title_segments(title: str, terms: frozenset[str]):
    return snippets.highlight_all(title, terms, _stem) or [(title, False)]


def _passes(stored: dict, request: SearchQuery) -> bool:
    """The request's filters, checked on a document's stored fields."""
    if request.product and stored.get("product") != request.product:
        return False
    tags = set(stored.get("tags", "").split(","))
    if any(tag not in tags for tag in request.tags):
        return False
    flags, state = stored.get("flags", "").split(), stored.get("state", "")
    for wanted in request.states:
        if wanted in ("solved", "verified"):
            if wanted not in flags:
                return False
        elif wanted == "answered":
            if state == "unanswered":
                return False
        elif state != wanted:
            return False
    return True


class SearchIndex:
    """A Whoosh index in a directory. Safe to share between threads of one process; several
    processes may write to the same directory (each write waits for Whoosh's lock).

    The directory holds generations (`gen-1`, `gen-2`, ...) and a `current` link to the live
    one. A rebuild writes a new generation beside the live one and then swaps the link in one
    rename, so searches never see a half-built index; every handle follows the link."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._searcher = None
        self._merger: threading.Thread | None = None
        self._generation, self._index = self._open_current()

    # Generations --------------------------------------------------------------------------

    @property
    def _link(self) -> Path:
        return self.path / "current"

    def _open_current(self):
        self.path.mkdir(parents=True, exist_ok=True)
        if self._link.is_dir() and not self._link.is_symlink():
            # A copy that followed the link (cp -r): make the copied directory a generation.
            generation = self._new_generation()
            shutil.rmtree(self.path / generation)
            os.rename(self._link, self.path / generation)
            self._swap_to(generation)
        if not self._link.is_symlink():
            generation = self._new_generation()
            self._swap_to(generation)
        generation = os.readlink(self._link)
        directory = self.path / generation
        if _format_of(directory) != INDEX_FORMAT or not _opening(index.exists_in, directory):
            # Written in another format (or never): start that generation empty; the drift
            # check refills it from the database.
            shutil.rmtree(directory, ignore_errors=True)
            _create(directory)
        return generation, _opening(index.open_dir, directory)

    def _new_generation(self) -> str:
        """A new, empty generation directory; several processes may make one at once."""
        numbers = [int(p.name[4:]) for p in self.path.glob("gen-*") if p.name[4:].isdigit()]
        number = max(numbers, default=0) + 1
        while True:
            try:
                (self.path / f"gen-{number}").mkdir()
            except FileExistsError:
                number += 1
                continue
            _create(self.path / f"gen-{number}")
            return f"gen-{number}"

    def _swap_to(self, generation: str) -> None:
        temporary = self.path / f"current.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(generation)
        os.replace(temporary, self._link)  # atomic: readers see the old or the new, never none

    def _follow(self) -> None:
        """Reopen if a rebuild swapped another generation in."""
        live = os.readlink(self._link)
        if live != self._generation:
            with self._lock:
                if self._searcher is not None:
                    self._searcher.close()
                    self._searcher = None
                self._generation, self._index = live, _opening(index.open_dir, self.path / live)

    def drop_old_generations(self) -> None:
        live = os.readlink(self._link)
        for directory in self.path.glob("gen-*"):
            if directory.name != live:
                shutil.rmtree(directory, ignore_errors=True)

    # Writing ------------------------------------------------------------------------------

    def _writer(self):
        self._follow()
        return self._index.writer(
            timeout=WRITE_LOCK_TIMEOUT, delay=WRITE_LOCK_POLL, **WRITER_OPTIONS
        )

    def index_threads(self, documents: Iterable[ThreadDocument]) -> int:
        """Add or replace these threads. Returns how many were written."""
        documents = list(documents)
        self.sync(documents, {})
        return len(documents)

    def remove_threads(self, thread_ids: Iterable[int]) -> None:
        """Drop these threads whatever revision the index holds."""
        self.sync([], {int(i): 2**32 - 1 for i in thread_ids})

    def sync(self, documents: Iterable[ThreadDocument], removed: Mapping[int, int]) -> int:
        """Write changed threads and drop removed ones (thread id -> the revision at which it
        was gone) in a single commit, never replacing a newer copy with an older one: two
        writers that read a thread at different revisions leave the newer. Returns how many
        documents were written.

        One delete query for every id, then plain adds: much cheaper for a batch (an import)
        than `update_document`, which looks each id up on its own."""
        writer = self._writer()
        try:
            with writer.searcher() as searcher:
                held = _revisions_in(searcher, [d.id for d in documents] + list(removed))
            documents = [d for d in documents if d.revision >= held.get(d.id, -1)]
            gone = [i for i, revision in removed.items() if i in held and held[i] <= revision]
            ids = gone + [d.id for d in documents if d.id in held]
            if ids:
                writer.delete_by_query(query.Or([query.Term("id", i) for i in ids]))
            for document in documents:
                writer.add_document(**self._fields(document))
        except BaseException:
            writer.cancel()
            raise
        if not documents and not ids:
            writer.cancel()
            return 0
        # Merging the small segments rewrites all of them, which would make every few posts
        # wait half a second: commit alone, and merge in the background now and then.
        segments = len(writer.segments) + 1
        writer.commit(merge=False)
        if segments > MAX_UNMERGED_SEGMENTS:
            self._merge_in_background()
        return len(documents)

    def _merge_in_background(self) -> None:
        with self._lock:
            if self._merger is not None and self._merger.is_alive():
                return
            self._merger = threading.Thread(
                target=self.merge_small_segments, name="search-merge", daemon=True
            )
            self._merger.start()

    def merge_small_segments(self) -> None:
        """Fold the small segments that single commits leave into fewer, larger ones."""
        writer = self._writer()
        writer.commit(mergetype=MERGE_SMALL)

    def rebuild(self, documents: Iterable[ThreadDocument], progress=None, procs: int = 1) -> int:
        """Build a new generation from these documents beside the live one, then swap it in.
        Searches answer from the old generation meanwhile. With procs > 1, that many
        processes analyse and write a segment each (left unmerged: searching several is as
        fast); they die with this process. Returns how many documents were written."""
        count = 0
        if procs > 1:
            multiprocessing.util.register_after_fork(self, die_with_parent)
        generation = self._new_generation()
        built = index.open_dir(self.path / generation)
        options = {"procs": procs, "multisegment": True} if procs > 1 else {}
        with built.writer(limitmb=256, **options, **WRITER_OPTIONS) as writer:
            for document in documents:
                writer.add_document(**self._fields(document))
                count += 1
                if progress:
                    progress(1)
        self._swap_to(generation)
        self._follow()
        return count

    @staticmethod
    def _fields(doc: ThreadDocument) -> dict:
        flags = [
            name for name, on in (("solved", doc.is_solved), ("verified", doc.is_verified)) if on
        ]
        body = "\n\n".join([doc.question, *doc.answers, *doc.comments])
        return {
            "id": doc.id,
            "title": doc.title,
            "body": body,
            "excerpt": body[:EXCERPT_CHARS],
            "product": doc.product,
            "tags": ",".join(doc.tags),
            "state": doc.state,
            "flags": " ".join(flags),
            "score": doc.score,
            "answer_count": doc.answer_count,
            "created_at": _naive_utc(doc.created_at),
            "last_activity_at": _naive_utc(doc.last_activity_at),
            "revision": doc.revision,
        }

    # Reading ------------------------------------------------------------------------------

    def _current_searcher(self):
        """One searcher kept open, reopened when the index has changed since.

        Not `Searcher.refresh()`: it reuses segment readers whose segment is unchanged, and so
        misses a commit that only deleted documents (a removed thread would stay findable)."""
        self._follow()
        with self._lock:
            if self._searcher is not None and not self._searcher.up_to_date():
                self._searcher.close()
                self._searcher = None
            if self._searcher is None:
                self._searcher = _opening(_new_searcher, self._index, weighting=scoring.BM25F())
            return self._searcher

    def _read(self, read, *args):
        """`read(searcher, *args)` on the current searcher; again on a fresh one, up to
        READ_ATTEMPTS times, when the index changed under the read. Another thread of this
        process may have closed the searcher (a rebuild swapped a generation in, or a change
        made it stale): Whoosh says ReaderClosed, or ValueError from the memory map of a file
        it closed. Another process's commit or merge may have deleted segment files that the
        searcher had not opened yet (Whoosh opens them on first use): FileNotFoundError, or a
        column it then reads as None (TypeError). An error while the index stood still is
        raised as it is."""
        for attempt in range(READ_ATTEMPTS):
            searcher = self._current_searcher()
            try:
                return read(searcher, *args)
            except (ReaderClosed, ValueError, OSError, TypeError):
                if attempt == READ_ATTEMPTS - 1 or not self._changed_since(searcher):
                    raise

    def _changed_since(self, searcher) -> bool:
        if searcher is not self._searcher or os.readlink(self._link) != self._generation:
            return True
        try:
            return not searcher.up_to_date()
        except Exception:  # noqa: BLE001 - a searcher that cannot tell is stale
            return True

    def doc_count(self) -> int:
        return self._read(lambda searcher: searcher.doc_count())

    def stored_revisions(self) -> dict[int, int]:
        """Every indexed thread id with the revision it was indexed at (for drift checks)."""
        return self._read(
            lambda searcher: {f["id"]: f.get("revision", 0) for f in searcher.all_stored_fields()}
        )

    def _parse_words(self, text: str):
        parser = qparser.MultifieldParser(
            ["title", "body"], schema=self._index.schema, group=qparser.OrGroup.factory(0.9)
        )
        # Customers type words, not query syntax: keep phrases ("...") and AND/OR/NOT, but no
        # field:, wildcard, fuzzy, range or boost syntax that could surprise or blow up.
        for plugin in (
            qparser.FieldsPlugin,
            qparser.WildcardPlugin,
            qparser.FuzzyTermPlugin,
            qparser.RangePlugin,
            qparser.BoostPlugin,
            qparser.RegexPlugin,
        ):
            parser.remove_plugin_class(plugin)
        try:
            return parser.parse(text)
        except Exception:  # noqa: BLE001 - Whoosh raises many types on odd input
            words = " ".join(ch if ch.isalnum() else " " for ch in text)
            return parser.parse(words)

    def _words_query(self, searcher, text: str) -> _Words:
        """What the words of a search match: rare words any of them, common words only as
        a bonus; written query syntax (phrases, AND/OR/NOT) goes through the full parser."""
        if QUERY_SYNTAX.search(text):
            return _Words(self._parse_words(text))
        words = list(dict.fromkeys(token.text for token in ANALYZER(text)))
        if not words:
            return _Words(query.NullQuery)
        cutoff = max(COMMON_MIN_THREADS, COMMON_TERM_SHARE * searcher.doc_count_all())
        rare = [word for word in words if searcher.doc_frequency("body", word) <= cutoff]
        if rare:
            # Scoring the common words too would mean walking their long lists for every
            # candidate; they carry little weight (low IDF) anyway.
            terms = tuple((field, word) for word in rare for field in ("title", "body"))
            return _Words(query.Or([query.Term(*term) for term in terms]), terms)
        # Only common words: threads with all of them in the title (short lists to walk).
        terms = tuple(("title", word) for word in words)
        return _Words(query.And([query.Term(*term) for term in terms]), terms, every=True)

    def search(self, request: SearchQuery) -> SearchResults:
        """The threads that match, best first. When the words find nothing and look
        misspelt, the corrected words are searched at once (`corrected` says so)."""
        results = self._read(self._search, request)
        if results.total or not results.suggestion or not request.autocorrect:
            return results
        corrected = self._read(
            self._search, replace(request, text=results.suggestion, autocorrect=False)
        )
        if not corrected.total:
            return results
        return replace(corrected, query=request, corrected=results.suggestion)

    def _search(self, searcher, request: SearchQuery) -> SearchResults:
        # The scope: terms a thread must hold, and terms it must not.
        within = [("product", request.product)] if request.product else []
        within.extend(("tags", tag) for tag in request.tags)
        outside = []
        for state in request.states:
            if state in ("solved", "verified"):
                within.append(("flags", state))
            elif state == "answered":
                outside.append(("state", "unanswered"))
            else:
                within.append(("state", state))
        filters = [query.Term(*term) for term in within]
        filters.extend(query.Not(query.Term(*term)) for term in outside)
        found = self._words_query(searcher, request.text) if request.text else _Words(query.Every())
        words = found.query
        if words is query.NullQuery and request.text:
            return SearchResults(query=request, hits=[], total=0)
        # Filters restrict the result set and never touch the score: as part of the query,
        # Whoosh's top-N optimisation would return other documents than the best-scoring
        # ones in the scope.
        restrict = query.And(filters) if filters else None

        sortedby, reverse = None, False
        if request.sort == "newest" or (request.sort == "relevance" and not request.text):
            sortedby, reverse = "created_at", True
        elif request.sort == "votes":
            sortedby, reverse = (
                sorting.MultiFacet(
                    [
                        sorting.FieldFacet("score", reverse=True),
                        sorting.FieldFacet("created_at", reverse=True),
                    ]
                ),
                False,
            )
        first = (max(1, request.page) - 1) * request.per_page
        terms = frozenset(
            text
            for field, text in words.all_terms()
            if field in ("title", "body") and isinstance(text, str)
        )
        ranked = None
        if found.terms and sortedby is None:
            ranked = ranking.rank(
                searcher,
                found.terms,
                every=found.every,
                limit=first + request.per_page,
                within=within,
                outside=outside,
            )
        if ranked is not None:
            hits = [
                self._hit_from(searcher.stored_fields(number), terms, score, request.snippets)
                for score, number in ranked.best[first:]
            ]
            return self._results(searcher, request, hits, ranked.total, exact=True)
        results = searcher.search(
            words,
            filter=restrict,
            limit=first + request.per_page,
            sortedby=sortedby,
            reverse=reverse,
        )
        if restrict is not None and request.count_total:
            # Whoosh's count and estimate include what the filter left out (and an empty
            # filter lets everything through its count): count the scope's matches.
            allowed = set(restrict.docs(searcher))
            exact = True
            total = sum(1 for number in words.docs(searcher) if number in allowed)
        else:
            exact = results.has_exact_length()
            total = len(results) if exact else results.estimated_length()
        hits = [
            self._hit_from(hit.fields(), terms, hit.score or 0.0, request.snippets)
            for hit in results[first : first + request.per_page]
        ]
        return self._results(searcher, request, hits, total, exact)

    def _results(
        self, searcher, request: SearchQuery, hits: list[Hit], total: int, exact: bool
    ) -> SearchResults:
        suggestion = None
        if request.text and total == 0:
            suggestion = self._suggestion(searcher, request.text)
        return SearchResults(
            query=request, hits=hits, total=total, suggestion=suggestion, total_is_exact=exact
        )

    def hits_for(self, ids: list[int], request: SearchQuery, text: str = "") -> dict[int, Hit]:
        """Hits for these threads (found some other way), keeping only those in the index
        that pass the request's filters; snippets marked with the words of `text`."""
        if not ids:
            return {}
        return self._read(self._hits_for, ids, request, text)

    def _hits_for(
        self, searcher, ids: list[int], request: SearchQuery, text: str
    ) -> dict[int, Hit]:
        terms = _terms(text)
        found = {}
        for thread in ids:
            number = searcher.document_number(id=thread)
            if number is None:
                continue
            stored = searcher.stored_fields(number)
            if _passes(stored, request):
                found[thread] = self._hit_from(stored, terms, 0.0, request.snippets)
        return found

    def with_snippets(self, hits: list[Hit], text: str) -> list[Hit]:
        """These hits with their snippet and title marked with the words of `text`."""
        terms = _terms(text)
        return [
            replace(
                hit,
                snippet=_snippet(hit.excerpt, terms),
                title_segments=_title_segments(hit.title, terms),
            )
            for hit in hits
        ]

    def _hit_from(
        self, stored: dict, terms: frozenset[str], rank: float, with_snippet: bool = True
    ) -> Hit:
        excerpt = stored.get("excerpt", "")
        title = stored["title"]
        flags = stored.get("flags", "").split()
        return Hit(
            id=stored["id"],
            title=title,
            title_segments=_title_segments(title, terms) if with_snippet else [(title, False)],
            snippet=_snippet(excerpt, terms) if with_snippet else [],
            excerpt=excerpt,
            product=stored.get("product", ""),
            tags=[t for t in stored.get("tags", "").split(",") if t],
            state=stored.get("state", ""),
            is_solved="solved" in flags,
            is_verified="verified" in flags,
            score=stored.get("score", 0),
            answer_count=stored.get("answer_count", 0),
            created_at=_aware(stored.get("created_at")),
            rank=rank,
        )

    def _suggestion(self, searcher, text: str) -> str | None:
        try:
            parsed = self._parse_words(text)
            corrected = searcher.correct_query(parsed, text, prefix=1, maxdist=2)
        except Exception:  # noqa: BLE001 - a suggestion is optional, never an error
            return None
        if corrected.query == parsed:
            return None
        return corrected.string

    def suggest(self, title: str, product: str | None = None, limit: int = 5) -> list[Hit]:
        """Threads like the question being typed, for the ask page: the chosen product's
        first, then other products', and only those near the best match (no padding with
        threads that merely share a common word)."""
        if len(title.split()) == 0:
            return []
        hits = self.search(SearchQuery(text=title, product=product, per_page=limit)).hits
        if product and len(hits) < limit:
            seen = {hit.id for hit in hits}
            others = self.search(SearchQuery(text=title, per_page=limit * 2)).hits
            hits += [hit for hit in others if hit.id not in seen][: limit - len(hits)]
        if not hits:
            return []
        bar = RELEVANCE_BAR * max(hit.rank for hit in hits)
        return [hit for hit in hits if hit.rank >= bar]

    def wait_for_merges(self) -> None:
        """Return once no background merge of this handle is running."""
        merger = self._merger
        if merger is not None:
            merger.join()

    def close(self) -> None:
        self.wait_for_merges()
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
