"""What residents are shown (SPEC §1, §7): anonymous aggregates, small buildings merged."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from portal import settings
from portal.extensions import db
from portal.models import ActionStatus, ImprovementAction, User
from portal.reports import stats
from portal.reports.periods import Scope

SECTION = stats.SECTION
settings.define("disclosure_min_cases", 5,
                _l("Disclosure: merge buildings with fewer cases than this (nobody can be singled out)"),
                "int", SECTION, min=2, max=50)
settings.define("disclosure_public", False, _l("Disclosure: also publish the page without login"), "bool", SECTION)


def merge_small(rows: list[tuple[str, int]], k: int) -> tuple[list[tuple[str, int]], int]:
    """Groups under k cases merge into one "other" group; while that group is itself under k
    (and not empty) the smallest named group joins it. Returns (named groups, merged count)."""
    named = sorted(((n, c) for n, c in rows if c >= k), key=lambda r: (-r[1], r[0]))
    merged = sum(c for _, c in rows if c < k)
    while 0 < merged < k and named:
        merged += named.pop()[1]
    return named, merged


def resident_site(user: User) -> int | None:
    if user.unit is not None:
        return user.unit.building.estate_id
    return None


def improvements(scope: Scope) -> list[str]:
    """Texts of the done improvement actions managers marked for residents, this month."""
    site = or_(ImprovementAction.estate_id.is_(None), ImprovementAction.estate_id == scope.estate_id) \
        if scope.estate_id else True
    rows = db.session.scalars(select(ImprovementAction.action).where(
        ImprovementAction.status == ActionStatus.DONE, ImprovementAction.disclose.is_(True), site,
        or_(ImprovementAction.month == scope.month,
            and_(ImprovementAction.updated_at >= scope.start, ImprovementAction.updated_at < scope.end)))
        .order_by(ImprovementAction.id))
    return list(rows)


def aggregates(scope: Scope) -> dict:
    """The month's anonymous figures: no names, units, texts or case numbers."""
    k = settings.get("disclosure_min_cases")
    counts = stats.counts(scope)
    names = stats.names()
    buildings, merged = merge_small(
        [(names["building"].get(b, ""), n) for b, n in counts["building"] if b is not None], k)
    categories = [(names["category"].get(c, ""), n) for c, n in counts["category"] if c is not None]
    rates = stats.clock_rates(scope, stats.utcnow())
    answers = stats.answer_rates(scope)
    return {
        "total": sum(n for _, n in counts["kind"]), "kinds": counts["kind"], "categories": categories,
        "buildings": buildings, "merged": merged, "k": k,
        "on_time": rates["resolution"].percent, "satisfaction": answers["satisfaction"].percent,
        "improvements": improvements(scope),
    }
