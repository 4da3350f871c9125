"""The Alembic migrations build exactly the schema the models describe."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forum.extensions import db


def test_migrated_schema_matches_models(app):
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect the lower(email) index; PostgreSQL compares it.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_email_uniqueness_ignores_case_in_the_database_itself(app):
    import pytest
    import sqlalchemy as sa

    with db.engine.connect() as conn:
        insert = sa.text(
            "INSERT INTO users (email, display_name, role, active, created_at) "
            "VALUES (:e, 'x', 'customer', true, CURRENT_TIMESTAMP)"
        )
        conn.execute(insert, {"e": "Case@Example.com"})
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(insert, {"e": "case@example.COM"})
        conn.rollback()
