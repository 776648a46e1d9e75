"""Extensions, created once and bound in the factory."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from datetime import timezone

from sqlalchemy import DateTime, MetaData
from sqlalchemy.types import TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def enum_column(cls):
    """An enum stored as its values in a VARCHAR (no native type: adding a value needs no DDL)."""
    from sqlalchemy import Enum
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


def insert_new(session, table, rows: list[dict], unique: list[str], returning: list[str]) -> list:
    """Insert rows in one statement, skipping those whose unique key exists; returns the new ones.

    The unique key is what makes jobs idempotent: a second run, or a racing worker, inserts nothing.
    Core (not ORM) insert, so rows with NULLs still go in one statement.
    """
    if not rows:
        return []
    from sqlalchemy.dialects import postgresql, sqlite
    dialect = session.get_bind().dialect.name
    makers = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in makers:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = makers[dialect](table).on_conflict_do_nothing(index_elements=unique).returning(
        *(table.c[name] for name in returning))
    return list(session.execute(stmt, rows))


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
