"""The search index in PostgreSQL's full-text search, for several app servers: every host reads
and writes the same table, so a post made through one is found through any other at once.

Same facade as the Whoosh `SearchIndex` (the forum picks one with FORUM_SEARCH_BACKEND):
- one row per thread in `search_threads`, with a `tsvector` kept by the writer, weighted
  title (A), question (B), answers and comments (C), under a GIN index, ranked by `ts_rank`;
  the thread's revision guards against an older copy replacing a newer one, as in Whoosh;
- queries through `websearch_to_tsquery` (quotes, -word, or), every word required; when that
  finds nothing, any of the words; a quoted phrase must match word for word (stop words too)
  on an unstemmed copy of the thread's words;
- filters (product, tags, is:) are WHERE clauses, so the scoped ranking is the unscoped
  ranking restricted to the scope;
- highlights from `ts_headline`, between control characters no stored text contains, turned
  into the same (text, matched) segments the templates escape;
- "did you mean" from `pg_trgm`: each unknown word's nearest title word by trigram similarity.

The tables are made on first use (CREATE ... IF NOT EXISTS), like Whoosh's directory: they
belong to the search backend, not to the forum's migrations. No Flask imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from sqlalchemy import Engine, text

from .documents import Hit, SearchQuery, SearchResults, ThreadDocument

# English stemming with accents folded ("café" finds "cafe"); the exact copy for quoted
# phrases folds accents and keeps every word as written.
CONFIG = "forum_english"
EXACT = "forum_exact"
START, STOP = "\x02", "\x03"  # highlight marks; stripped from every stored text
# ts_headline's parser takes "<b>" for markup and drops it: angle brackets travel through it
# as these, and come back as themselves (the templates escape them).
LT, GT = "\x04", "\x05"
CONTROL = str.maketrans("", "", START + STOP + LT + GT + "\x00")
EXCERPT_CHARS = 1500
RELEVANCE_BAR = 0.35  # similar questions below this share of the best one's rank are left out
SIMILARITY = 0.4  # how close (trigrams) a title word must be to stand in for a typed one
WORD = re.compile(r"[^\W_]+", re.UNICODE)
PHRASE = re.compile(r'"([^"]+)"')
# ts_rank: each further occurrence of a word counts less (like BM25's saturation), and the
# title's weight (A) outranks a word repeated in the body; no length normalisation (with it,
# long threads that match a title's every word fell behind short ones that match a few).
RANK = "ts_rank(head, {q}, 0)"
BATCH = 500
# Ranking reads a small vector of the title and the question's start (kept in the row), not
# the whole thread's (kept apart, compressed): a common word matches thousands of threads, and
# ranking each by its whole text read megabytes per search. A thread that matches only in
# its answers ranks after those that match in their title or question.
HEAD_CHARS = 600
# Counting every match of a common word costs more than finding the best twenty: past this
# many, the total is given as "more than".
COUNT_CAP = 1000
# Threads ranked per search, at most, of those matching in the title or the question's start
# (and as many again of the rest): enough that a common word's best threads are among them.
CANDIDATES = 2000
FORMAT = "2"  # changes when rows must be written again: `flask search reindex`

TEXT_CONFIGS = [
    (CONFIG, "english", "unaccent, english_stem"),
    (EXACT, "simple", "unaccent, simple"),
]

SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """CREATE TABLE IF NOT EXISTS search_threads (
        id integer PRIMARY KEY,
        revision bigint NOT NULL,
        title text NOT NULL,
        excerpt text NOT NULL,
        product text NOT NULL,
        tags text[] NOT NULL,
        state text NOT NULL,
        flags text[] NOT NULL,
        score integer NOT NULL,
        answer_count integer NOT NULL,
        created_at timestamptz NOT NULL,
        last_activity_at timestamptz NOT NULL,
        document tsvector NOT NULL,
        exact tsvector NOT NULL,
        head tsvector NOT NULL
    )""",
    # Tables made by an earlier format gain the ranking vector (empty until a reindex).
    "ALTER TABLE search_threads ADD COLUMN IF NOT EXISTS head tsvector NOT NULL DEFAULT ''",
    "CREATE TABLE IF NOT EXISTS search_meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_threads_head ON search_threads USING gin (head)",
    "CREATE INDEX IF NOT EXISTS search_threads_document ON search_threads USING gin (document)",
    "CREATE INDEX IF NOT EXISTS search_threads_product ON search_threads (product, created_at)",
    "CREATE INDEX IF NOT EXISTS search_threads_created ON search_threads (created_at)",
    "CREATE TABLE IF NOT EXISTS search_words (word text PRIMARY KEY)",
    "CREATE INDEX IF NOT EXISTS search_words_trigrams"
    " ON search_words USING gin (word gin_trgm_ops)",
]

UPSERT = text(
    f"""
    INSERT INTO search_threads AS t (id, revision, title, excerpt, product, tags, state, flags,
        score, answer_count, created_at, last_activity_at, document, exact, head)
    VALUES (:id, :revision, :title, :excerpt, :product, :tags, :state, :flags, :score,
        :answer_count, :created_at, :last_activity_at,
        setweight(to_tsvector('{CONFIG}', :title), 'A')
        || setweight(to_tsvector('{CONFIG}', :question), 'B')
        || setweight(to_tsvector('{CONFIG}', :rest), 'C'),
        to_tsvector('{EXACT}', :title || ' ' || :question || ' ' || :rest),
        setweight(to_tsvector('{CONFIG}', :title), 'A')
        || setweight(to_tsvector('{CONFIG}', left(:question, {HEAD_CHARS})), 'B'))
    ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, title = excluded.title,
        excerpt = excluded.excerpt, product = excluded.product, tags = excluded.tags,
        state = excluded.state, flags = excluded.flags, score = excluded.score,
        answer_count = excluded.answer_count, created_at = excluded.created_at,
        last_activity_at = excluded.last_activity_at, document = excluded.document,
        exact = excluded.exact, head = excluded.head
    WHERE t.revision <= excluded.revision
    """
)
COLUMNS = "id, title, excerpt, product, tags, state, flags, score, answer_count, created_at"


def _clean(value: str) -> str:
    return value.translate(CONTROL)


def _shield(value: str) -> str:
    return value.replace("<", LT).replace(">", GT)


def _unshield(value: str) -> str:
    return value.replace(LT, "<").replace(GT, ">")


def _segments(marked: str) -> list[tuple[str, bool]]:
    """ts_headline's output (words between START and STOP) as (text, matched) segments."""
    segments: list[tuple[str, bool]] = []
    for part in re.split(f"({START}.*?{STOP})", marked, flags=re.S):
        if not part:
            continue
        if part.startswith(START):
            segments.append((_unshield(part[1:-1]), True))
        else:
            segments.append((_unshield(part), False))
    return segments


def _words(value: str) -> list[str]:
    return [w.lower() for w in WORD.findall(value)]


class PostgresSearchIndex:
    """The search index as two tables in the forum's own PostgreSQL database."""

    def __init__(self, engine: Engine):
        if engine.dialect.name != "postgresql":
            raise ValueError("the PostgreSQL search backend needs a PostgreSQL database")
        self.engine = engine
        self._ready = False

    def ensure_schema(self) -> None:
        if self._ready:
            return
        with self.engine.begin() as conn:
            # Two processes starting at once: one creates, the other waits for it.
            conn.execute(text("SELECT pg_advisory_xact_lock(72016311)"))
            for statement in SCHEMA[:2]:
                conn.execute(text(statement))
            for name, copy, dictionaries in TEXT_CONFIGS:
                if conn.scalar(text("SELECT 1 FROM pg_ts_config WHERE cfgname = :n"), {"n": name}):
                    continue
                conn.execute(text(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {copy})"))
                conn.execute(
                    text(
                        f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR"
                        f" hword, hword_part, word WITH {dictionaries}"
                    )
                )
            for statement in SCHEMA[2:]:
                conn.execute(text(statement))
        self._ready = True

    # Writing ------------------------------------------------------------------------------

    def _rows(self, documents: Iterable[ThreadDocument]) -> list[dict]:
        rows = []
        for doc in documents:
            body = _clean("\n\n".join([doc.question, *doc.answers, *doc.comments]))
            rows.append(
                {
                    "id": doc.id,
                    "revision": doc.revision,
                    "title": _clean(doc.title),
                    "excerpt": body[:EXCERPT_CHARS],
                    "product": doc.product,
                    "tags": list(doc.tags),
                    "state": doc.state,
                    "flags": [
                        n
                        for n, on in (("solved", doc.is_solved), ("verified", doc.is_verified))
                        if on
                    ],
                    "score": doc.score,
                    "answer_count": doc.answer_count,
                    "created_at": doc.created_at,
                    "last_activity_at": doc.last_activity_at,
                    "question": _clean(doc.question),
                    "rest": _clean("\n\n".join([*doc.answers, *doc.comments])),
                }
            )
        return rows

    def _write(self, conn, documents: list[ThreadDocument]) -> None:
        for start in range(0, len(documents), BATCH):
            rows = self._rows(documents[start : start + BATCH])
            conn.execute(UPSERT, rows)
            words = sorted({w for row in rows for w in _words(row["title"]) if len(w) > 2})
            if words:
                conn.execute(
                    text(
                        "INSERT INTO search_words (word) SELECT unnest(CAST(:w AS text[]))"
                        " ON CONFLICT DO NOTHING"
                    ),
                    {"w": words},
                )

    def sync(self, documents: Iterable[ThreadDocument], removed: Mapping[int, int]) -> int:
        """Write changed threads and drop removed ones (id -> the revision at which it was
        gone) in one transaction, never replacing a newer copy with an older one."""
        self.ensure_schema()
        documents = list(documents)
        with self.engine.begin() as conn:
            if removed:
                conn.execute(
                    text(
                        "DELETE FROM search_threads t USING unnest(CAST(:ids AS int[]),"
                        " CAST(:revs AS bigint[])) AS gone(id, revision)"
                        " WHERE t.id = gone.id AND t.revision <= gone.revision"
                    ),
                    {"ids": list(removed), "revs": [removed[i] for i in removed]},
                )
            self._write(conn, documents)
        return len(documents)

    def index_threads(self, documents: Iterable[ThreadDocument]) -> int:
        return self.sync(documents, {})

    def remove_threads(self, thread_ids: Iterable[int]) -> None:
        self.sync([], {int(i): 2**62 for i in thread_ids})

    def rebuild(self, documents: Iterable[ThreadDocument], progress=None, procs: int = 1) -> int:
        """Replace every row in one transaction: searches read the old rows until it commits,
        then the new ones (PostgreSQL's snapshots make the swap atomic)."""
        self.ensure_schema()
        count = 0
        chunk: list[ThreadDocument] = []
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM search_threads"))
            for document in documents:
                chunk.append(document)
                if len(chunk) >= BATCH:
                    self._write(conn, chunk)
                    count += len(chunk)
                    if progress:
                        progress(len(chunk))
                    chunk = []
            if chunk:
                self._write(conn, chunk)
                count += len(chunk)
                if progress:
                    progress(len(chunk))
            conn.execute(
                text(
                    "INSERT INTO search_meta VALUES ('format', :f)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                {"f": FORMAT},
            )
        return count

    def stored_format(self) -> str | None:
        self.ensure_schema()
        with self.engine.connect() as conn:
            return conn.scalar(text("SELECT value FROM search_meta WHERE key = 'format'"))

    def drop_old_generations(self) -> None:
        """Nothing to drop: a rebuild replaces rows in place."""

    def wait_for_merges(self) -> None:
        """PostgreSQL merges its GIN index's pending list itself."""

    def close(self) -> None:
        """The engine belongs to the caller."""

    def stored_revisions(self) -> dict[int, int]:
        self.ensure_schema()
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT id, revision FROM search_threads")).all())

    def doc_count(self) -> int:
        self.ensure_schema()
        with self.engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM search_threads"))

    # Reading ------------------------------------------------------------------------------

    @staticmethod
    def _filters(request: SearchQuery, params: dict) -> list[str]:
        where = []
        if request.product:
            where.append("product = :product")
            params["product"] = request.product
        if request.tags:
            where.append("tags @> CAST(:tags AS text[])")
            params["tags"] = [t.lower() for t in request.tags]
        for n, state in enumerate(request.states):
            if state in ("solved", "verified"):
                where.append(f":flag{n} = ANY(flags)")
                params[f"flag{n}"] = state
            elif state == "answered":
                where.append("state <> 'unanswered'")
            else:
                where.append(f"state = :state{n}")
                params[f"state{n}"] = state
        return where

    def search(self, request: SearchQuery) -> SearchResults:
        """Every word first; any of them when that finds nothing; the corrected words at once
        when the typed ones find nothing and look misspelt."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            results = self._search(conn, request, any_word=False)
            if (
                not results.total
                and len(_words(request.text)) > 1
                and not PHRASE.search(request.text)
            ):
                results = self._search(conn, request, any_word=True)
            if results.total or not request.text:
                return results
            suggestion = self._suggestion(conn, request.text)
            if not suggestion:
                return results
            if not request.autocorrect:
                return replace(results, suggestion=suggestion)
            corrected = self._search(conn, replace(request, text=suggestion), any_word=False)
            if not corrected.total:
                corrected = self._search(conn, replace(request, text=suggestion), any_word=True)
            if not corrected.total:
                return replace(results, suggestion=suggestion)
            return replace(corrected, query=request, corrected=suggestion)

    def _search(self, conn, request: SearchQuery, any_word: bool) -> SearchResults:
        params: dict = {}
        where = self._filters(request, params)
        rank = "0.0"
        if request.text:
            if any_word:
                words = list(dict.fromkeys(_words(request.text)))
                if not words:
                    return SearchResults(query=request, hits=[], total=0)
                params["q"] = " | ".join(words)
                tsquery = f"to_tsquery('{CONFIG}', :q)"
            else:
                params["q"] = request.text
                tsquery = f"websearch_to_tsquery('{CONFIG}', :q)"
                phrases = PHRASE.findall(request.text)
                if phrases:
                    # A quoted phrase means those very words in that order, stop words too:
                    # checked on the unstemmed copy of the thread's words.
                    params["phrases"] = " ".join(f'"{p}"' for p in phrases)
                    where.append(f"exact @@ websearch_to_tsquery('{EXACT}', :phrases)")
            where.append(f"document @@ {tsquery}")
            rank = RANK.format(q=tsquery)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        if request.sort == "newest" or (request.sort == "relevance" and not request.text):
            order = "created_at DESC, id DESC"
        elif request.sort == "votes":
            order = "score DESC, created_at DESC, id DESC"
        else:
            order = "rank DESC, id DESC"
        params["limit"] = request.per_page
        params["offset"] = (max(1, request.page) - 1) * request.per_page
        source = "search_threads"
        if request.text and order.startswith("rank"):
            # Rank at most CANDIDATES threads that match in their title or question's start
            # (where the rank comes from), then as many that match elsewhere: a common word
            # would otherwise have every one of its thousands of threads ranked.
            head_clause = clause.replace("document @@", "head @@")
            params["candidates"] = CANDIDATES
            source = (
                f"search_threads WHERE id IN ("
                f"(SELECT id FROM search_threads {head_clause} LIMIT :candidates) UNION ALL "
                f"(SELECT id FROM search_threads {clause} LIMIT :candidates))"
            )
            clause = ""
        rows = conn.execute(
            text(
                f"SELECT {COLUMNS}, {rank} AS rank FROM {source} {clause}"
                f" ORDER BY {order} LIMIT :limit OFFSET :offset"
            ),
            params,
        ).all()
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        exact = True
        if len(rows) < request.per_page and params["offset"] == 0:
            total = len(rows)
        elif request.count_total or rows:
            total = conn.scalar(
                text(f"SELECT count(*) FROM (SELECT 1 FROM search_threads {clause} LIMIT :cap) s"),
                {**params, "cap": COUNT_CAP + 1},
            )
            exact = total <= COUNT_CAP
            total = min(total, COUNT_CAP)
        else:
            total = 0
        hits = [self._hit(row) for row in rows]
        if request.snippets and hits:
            hits = self._highlighted(conn, hits, request.text)
        return SearchResults(query=request, hits=hits, total=total, total_is_exact=exact)

    @staticmethod
    def _hit(row) -> Hit:
        title = row.title
        return Hit(
            id=row.id,
            title=title,
            title_segments=[(title, False)],
            snippet=[],
            excerpt=row.excerpt,
            product=row.product,
            tags=list(row.tags),
            state=row.state,
            is_solved="solved" in row.flags,
            is_verified="verified" in row.flags,
            score=row.score,
            answer_count=row.answer_count,
            created_at=row.created_at,
            rank=float(row.rank or 0.0),
        )

    def _highlighted(self, conn, hits: list[Hit], words: str) -> list[Hit]:
        """Titles and snippets with the searched words marked, by ts_headline."""
        terms = list(dict.fromkeys(_words(words)))
        if not terms:
            return [self._plain_snippet(hit) for hit in hits]
        options = f"StartSel={START}, StopSel={STOP}"
        rows = conn.execute(
            text(
                f"""SELECT i,
                    ts_headline('{CONFIG}', t, q, '{options}, HighlightAll=true'),
                    ts_headline('{CONFIG}', e, q,
                        '{options}, MaxFragments=2, MaxWords=24, MinWords=8,
                         FragmentDelimiter=" … "')
                FROM unnest(CAST(:titles AS text[]), CAST(:excerpts AS text[]))
                     WITH ORDINALITY AS h(t, e, i),
                     to_tsquery('{CONFIG}', :q) AS q"""
            ),
            {
                "titles": [_shield(h.title) for h in hits],
                "excerpts": [_shield(h.excerpt) for h in hits],
                "q": " | ".join(terms),
            },
        ).all()
        marked = {int(i): (title, snippet) for i, title, snippet in rows}
        out = []
        for n, hit in enumerate(hits, start=1):
            title, snippet = marked.get(n, (hit.title, ""))
            segments = _segments(snippet)
            if not any(matched for _, matched in segments):
                hit = self._plain_snippet(hit)
                segments = hit.snippet
            out.append(replace(hit, title_segments=_segments(title), snippet=segments))
        return out

    @staticmethod
    def _plain_snippet(hit: Hit) -> Hit:
        excerpt = hit.excerpt
        text_ = excerpt[:180] + ("…" if len(excerpt) > 180 else "")
        return replace(hit, snippet=[(text_, False)], title_segments=[(hit.title, False)])

    def with_snippets(self, hits: list[Hit], text_: str) -> list[Hit]:
        if not hits:
            return hits
        with self.engine.connect() as conn:
            return self._highlighted(conn, hits, text_)

    def hits_for(self, ids: list[int], request: SearchQuery, text_: str = "") -> dict[int, Hit]:
        """Hits for these threads (found some other way) that are indexed and pass the
        request's filters."""
        if not ids:
            return {}
        self.ensure_schema()
        params: dict = {"ids": list(ids)}
        where = ["id = ANY(CAST(:ids AS int[]))", *self._filters(request, params)]
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {COLUMNS}, 0.0 AS rank FROM search_threads WHERE {' AND '.join(where)}"
                ),
                params,
            ).all()
            hits = [self._hit(row) for row in rows]
            if request.snippets and hits:
                hits = self._highlighted(conn, hits, text_)
        return {hit.id: hit for hit in hits}

    def _suggestion(self, conn, value: str) -> str | None:
        """The typed words with each one no title has replaced by the nearest one that some
        title has (pg_trgm), or None when nothing would change."""
        words = _words(value)
        if not words:
            return None
        known = set(
            conn.scalars(
                text("SELECT word FROM search_words WHERE word = ANY(CAST(:w AS text[]))"),
                {"w": words},
            )
        )
        changed, out = False, []
        for word in words:
            if word in known or len(word) < 3:
                out.append(word)
                continue
            nearest = conn.scalar(
                text(
                    "SELECT word FROM search_words WHERE word % :w"
                    " AND similarity(word, :w) >= :bar"
                    " ORDER BY similarity(word, :w) DESC, length(word), word LIMIT 1"
                ),
                {"w": word, "bar": SIMILARITY},
            )
            if nearest and nearest != word:
                changed = True
                out.append(nearest)
            else:
                out.append(word)
        return " ".join(out) if changed else None

    def suggest(self, title: str, product: str | None = None, limit: int = 5) -> list[Hit]:
        """Threads like the question being typed, for the ask page: the chosen product's
        first, then others', only those near the best match."""
        if not _words(title):
            return []
        self.ensure_schema()
        with self.engine.connect() as conn:
            request = SearchQuery(text=title, product=product, per_page=limit)
            hits = self._search(conn, request, any_word=True).hits
            if product and len(hits) < limit:
                seen = {hit.id for hit in hits}
                others = self._search(
                    conn, SearchQuery(text=title, per_page=limit * 2), any_word=True
                ).hits
                hits += [hit for hit in others if hit.id not in seen][: limit - len(hits)]
        if not hits:
            return []
        bar = RELEVANCE_BAR * max(hit.rank for hit in hits)
        return [hit for hit in hits if hit.rank >= bar]
