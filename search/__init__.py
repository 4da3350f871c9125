"""Full-text search over threads: plain Python over Whoosh, with no Flask imports.

The facade (`SearchIndex`) takes and returns the dataclasses in `search.documents`, so a
PostgreSQL full-text backend can later stand in for several app servers.
"""

from .documents import Hit, SearchQuery, SearchResults, ThreadDocument
from .index import SearchIndex
from .query import parse_query

__all__ = ["Hit", "SearchIndex", "SearchQuery", "SearchResults", "ThreadDocument", "parse_query"]
