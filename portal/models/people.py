"""The company's estates, buildings, units, households, departments, categories and accounts.

The installation is one company (SPEC §9). Rows with ``estate_id`` NULL are the company's:
a company-wide department serves every estate, a company category (and its default
department) applies to every estate unless the estate overrides it, a company phrase or
service level applies where the estate has none of its own.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean, Column, Date, Enum, Float, ForeignKey, Integer, String, Table, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import UTCDateTime, db, enum_column
from portal.timeutil import utcnow


class Role(str, enum.Enum):
    RESIDENT = "resident"
    CLERK = "clerk"
    DEPARTMENT = "department"
    MANAGER = "manager"


class Relation(str, enum.Enum):
    """How a resident holds a unit."""

    OWNER = "owner"  # 业主
    FAMILY = "family"  # 家属
    TENANT = "tenant"  # 租户


class Estate(db.Model):
    """One estate (项目/小区) of the company, with its own customer-service centre."""

    __tablename__ = "estate"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Building(db.Model):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    estate: Mapped[Estate] = relationship()


class Unit(db.Model):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    area: Mapped[float | None] = mapped_column(Float)  # m², from the register
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    building: Mapped[Building] = relationship(lazy="joined")

    @property
    def label(self) -> str:
        return f"{self.building.name}-{self.number}"


class Department(db.Model):
    """A department of one estate, or (estate_id NULL) a company-wide one serving every estate."""

    __tablename__ = "department"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    estate: Mapped[Estate | None] = relationship()


class Category(db.Model):
    """A company category (estate_id NULL) or one estate's own; estates may override the former."""

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    default_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    default_department: Mapped[Department | None] = relationship()
    estate: Mapped[Estate | None] = relationship()


class CategoryOverride(db.Model):
    """An estate's own default department for a company category, or the category switched off there."""

    __tablename__ = "category_override"
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), primary_key=True, index=True)
    default_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    default_department: Mapped[Department | None] = relationship()


# Which estates a member of staff works for (a company-level account sees all regardless).
user_estate = Table(
    "user_estate", db.metadata,
    Column("user_id", ForeignKey("user.id"), primary_key=True),
    Column("estate_id", ForeignKey("estate.id"), primary_key=True, index=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        index=True,
    )
    phone: Mapped[str | None] = mapped_column(String(30), index=True)
    email: Mapped[str | None] = mapped_column(String(120))
    # The resident's openid on the company's WeChat service account (公众号), for template messages.
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # A resident's home unit (the one a new case defaults to); the household is `Residency`.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # Department staff: the head assigns the department's cases to its technicians.
    department_head: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Managers: 1 customer-service manager, 2 site manager (second escalation level).
    manager_level: Mapped[int] = mapped_column(Integer, default=1)
    # Company-level staff see every estate (and receive escalations of estates without their own).
    company_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    # A temporary password issued by a manager, to be changed at the next sign-in.
    password_temporary: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part of the login session's id: bumping it (deactivation, role or scope change,
    # password reset) ends every session of the account at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The interface language the person last chose ("" = the house language): their SMS and e-mail use it.
    language: Mapped[str] = mapped_column(String(10), default="", server_default="")
    unit: Mapped[Unit | None] = relationship()
    department: Mapped[Department | None] = relationship()
    estates: Mapped[list[Estate]] = relationship(secondary=user_estate, order_by="Estate.id")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:  # Flask-Login stores this in the session
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Every session of this account stops working at its next request."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class Residency(db.Model):
    """A resident's tie to a unit: owner, family member or tenant, from move-in to move-out."""

    __tablename__ = "residency"
    __table_args__ = (UniqueConstraint("unit_id", "user_id", "moved_in", name="uq_residency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    relation: Mapped[Relation] = mapped_column(enum_column(Relation))
    moved_in: Mapped[date] = mapped_column(Date)
    moved_out: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    unit: Mapped[Unit] = relationship()
    user: Mapped[User] = relationship()

    def current(self, on: date) -> bool:
        return self.moved_in <= on and (self.moved_out is None or on < self.moved_out)
