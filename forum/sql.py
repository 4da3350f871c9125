"""SQL expressions that each database spells its own way."""

from __future__ import annotations

from sqlalchemy import Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement):  # noqa: N801 (used like a SQL function)
    """seconds_between(a, b): b - a in seconds, as a float (NULL if either is NULL)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _postgresql(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


class whole_part(FunctionElement):  # noqa: N801
    """whole_part(x): x rounded down to a whole number, for x >= 0 (bucket numbers)."""

    type = Integer()
    inherit_cache = True
    name = "whole_part"


@compiles(whole_part, "sqlite")
def _sqlite_whole(element, compiler, **kw):
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST({value} AS INTEGER)"


@compiles(whole_part, "postgresql")
def _postgresql_whole(element, compiler, **kw):
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(FLOOR({value}) AS INTEGER)"
