"""Two counters: one moves whenever something a case list shows has changed, one with the reference lists."""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, event, insert
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class DataStamp(db.Model):
    """Row 1: `portal.stamp` bumps `n` in every commit that changes a listed table; row 2 in every commit
    that changes a reference list (categories, departments, estates)."""

    __tablename__ = "data_stamp"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


@event.listens_for(DataStamp.__table__, "after_create")
def _first_row(table, connection, **kw):
    """`create_all` (tests, benches) gets the rows the migrations insert."""
    connection.execute(insert(table).values([{"id": 1, "n": 0}, {"id": 2, "n": 0}]))
