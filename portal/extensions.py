"""Extensions, created once and bound in the factory."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from datetime import date, datetime, timezone
from enum import Enum

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.types import TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Session

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
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def init_migrations(app):
    """Flask-Migrate bound to `app` on first need (the `flask db` commands, the doctor, migration tests).

    Not at start: Flask-Migrate brings Alembic, Mako and Pygments, about 10 MB in every web and
    worker process that never migrates. Returns Flask-Migrate's config (`.directory`, `.migrate`).
    """
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        from portal.config import BASE_DIR
        Migrate(app, db, directory=str(BASE_DIR / "migrations"))
    return app.extensions["migrate"]


_READ_MEMO = "portal.read_memo"


def read_memo(name: str) -> dict:
    """A dict for facts read from the database that hold while nothing is written: kept in the session
    (one per request), forgotten on pending changes, a flush, a write statement, a commit or a rollback
    (`init_read_memo`). For what a request reads several times (a resident's households, the span of case
    numbers a search places digits in)."""
    session = db.session()
    if session.new or session.deleted or session.dirty:  # a query would flush them first
        _forget(session)
    return session.info.setdefault(_READ_MEMO, {}).setdefault(name, {})


def _forget(session, *_args) -> None:
    session.info.pop(_READ_MEMO, None)


def _forget_on_write(execute_state) -> None:
    if not execute_state.is_select:  # a bulk INSERT/UPDATE/DELETE, or text()
        _forget(execute_state.session)


def init_read_memo() -> None:
    """Connect read_memo's forgetting to every session (once per process, however many apps)."""
    for name, fn in (("after_flush", _forget), ("after_commit", _forget), ("after_soft_rollback", _forget),
                     ("do_orm_execute", _forget_on_write)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


def looked_up(column, where, label: str):
    """A correlated scalar subquery `(SELECT column FROM its table WHERE where)` labelled `label`: a name
    for each row of a list or an export, read by primary key (planned in well under a millisecond and run
    only for the rows returned, where a six-table outer join was planned afresh for every page)."""
    from sqlalchemy import select
    return select(column).where(where).scalar_subquery().label(label)


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
    if dialect == "postgresql" and len(rows) > 1:
        return _insert_new_json(session, table, rows, unique, returning)
    makers = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in makers:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = makers[dialect](table).on_conflict_do_nothing(index_elements=unique).returning(
        *(table.c[name] for name in returning))
    return list(session.execute(stmt, rows))


def _json_cell(value):
    """A bound value as JSON for json_populate_recordset: enums by value, times in UTC ISO form."""
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _insert_new_json(session, table, rows: list[dict], unique: list[str], returning: list[str]) -> list:
    """PostgreSQL: the rows as one JSON parameter read by json_populate_recordset.

    The multi-row VALUES form binds every cell separately: 1,000 alerts and their 3,000 outbox rows
    (the deadline scan at a million cases, bench/scale.py) were ~80,000 parameters whose conversion
    in the driver and parsing in the server took seconds; one JSON text takes milliseconds.
    Columns a row leaves out take their Python-side default, as the core insert would give them."""
    import json
    from sqlalchemy import text
    names = list(dict.fromkeys(name for r in rows for name in r))
    defaults = {}
    for column in table.columns:
        if column.name not in names and column.default is not None and not column.default.is_sequence:
            defaults[column.name] = column.default.arg if column.default.is_scalar else column.default.arg(None)
    names += list(defaults)
    data = json.dumps([{name: _json_cell(r.get(name, defaults.get(name))) for name in names} for r in rows],
                      ensure_ascii=False)
    quoted = ", ".join(f'"{name}"' for name in names)
    stmt = text(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} '
                f'FROM json_populate_recordset(NULL::"{table.name}", CAST(:rows AS json)) '
                f'ON CONFLICT ({", ".join(unique)}) DO NOTHING RETURNING {", ".join(returning)}')
    return list(session.execute(stmt, {"rows": data}))


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
