"""Property-register import speed: a 5,000-unit register must preview and import in under 30 s.

    .venv/bin/python bench/register_import.py [--units 5000] [--residents 2] [--formats xlsx,csv]
                                              [--database-url URL | --postgres]

Writes a register (XlsxWriter, and CSV in GBK as Excel in China saves it) with --residents
residents per unit, then for each format on a fresh database (a temp SQLite file unless
--database-url names an empty PostgreSQL database or --postgres starts a throw-away one,
bench/_pg.py) times: the preview (read, validate, compare), the import (plan again, apply,
commit, as confirm does), and the preview of the same file again (everything unchanged). Prints one line per format, e.g.
`xlsx units=5000 bytes=295685 preview_s=2.1 import_s=2.0 cpu_s=3.9 again_s=1.9 statements=32 created=25040 ...`
(times are wall-clock seconds; cpu_s is this process's CPU for preview + import, which tells a
slow machine from a busy one).
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench._pg import add_database_arguments, database_url  # noqa: E402
from portal import config as portal_config  # noqa: E402
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Estate  # noqa: E402
from portal.register import plan as planning  # noqa: E402
from portal.register.apply import apply  # noqa: E402
from portal.register.service import check  # noqa: E402

LIMIT_S = 30.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["秀英", "建国", "丽", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞", "平"]
RELATIONS = ["业主", "家属", "租户"]


def rows(units: int, residents: int) -> tuple[list[str], list[list]]:
    header = ["楼栋", "房号", "面积(㎡)"] + [f"住户{n}{p}" for n in range(1, residents + 1)
                                          for p in ("姓名", "手机", "关系", "入住日期")]
    body = []
    for i in range(units):
        building, floor, door = i // 125 + 1, (i % 125) // 4 + 1, i % 4 + 1
        row = [f"{building}栋", f"{floor:02d}{door:02d}", round(60 + (i % 90) * 1.5, 1)]
        for n in range(residents):
            k = i * residents + n
            name = SURNAMES[k % len(SURNAMES)] + GIVEN[(k // len(SURNAMES)) % len(GIVEN)]
            mobile = f"13{k:09d}" if n else f"+86 15{k:09d}"
            row += [name, mobile, RELATIONS[0] if n == 0 else RELATIONS[1 + k % 2],
                    (date(2010, 1, 1) + timedelta(days=k % 5000)).isoformat()]
        body.append(row)
    return header, body


def xlsx_bytes(header, body) -> bytes:
    import xlsxwriter
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("房产台账")
    sheet.write_row(0, 0, header)
    for r, row in enumerate(body, start=1):
        sheet.write_row(r, 0, row)
    book.close()
    return out.getvalue()


def csv_bytes(header, body) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode("gb18030")


def measure(app, fmt: str, data: bytes) -> str:
    statements = {"n": 0}
    with app.app_context():
        db.drop_all()
        db.create_all()
        estate = Estate(name="基准花园")
        db.session.add(estate)
        db.session.commit()
        def count(*_args):
            statements["n"] += 1
        event.listen(db.engine, "before_cursor_execute", count)
        today = date.today()
        cpu = time.process_time()
        started = time.perf_counter()
        register, plan = check(data, f"register.{fmt}", estate, today)
        preview_s = time.perf_counter() - started
        assert not plan.problems, plan.problems[:5]
        db.session.rollback()
        before = statements["n"]
        started = time.perf_counter()
        plan = planning.build(estate, register, today)  # confirm rebuilds the plan from the kept rows
        apply(plan, None, f"register.{fmt}")
        db.session.commit()
        import_s = time.perf_counter() - started
        import_statements = statements["n"] - before
        cpu_s = time.process_time() - cpu  # this process only (a PostgreSQL server's work is not in it)
        started = time.perf_counter()
        _, again = check(data, f"register.{fmt}", estate, today)
        again_s = time.perf_counter() - started
        assert again.created == again.updated == 0, again.summary()
        db.session.rollback()
        ok = "ok" if preview_s + import_s < LIMIT_S else f"OVER {LIMIT_S:.0f}s"
        line = (f"{fmt:<4} units={len(register.rows)} bytes={len(data)} preview_s={preview_s:.2f} "
                f"import_s={import_s:.2f} cpu_s={cpu_s:.2f} again_s={again_s:.2f} statements={import_statements} "
                f"{plan.summary()} db={db.engine.dialect.name} {ok}")
        event.remove(db.engine, "before_cursor_execute", count)
        return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--residents", type=int, default=2)
    parser.add_argument("--formats", default="xlsx,csv")
    add_database_arguments(parser)
    args = parser.parse_args()
    header, body = rows(args.units, args.residents)
    files = {"xlsx": xlsx_bytes(header, body), "csv": csv_bytes(header, body)}
    with database_url(args) as url:
        tmp = tempfile.mkdtemp(prefix="portal-bench-")
        config = portal_config.TestConfig()
        config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
        config.UPLOAD_DIR = tmp
        app = create_app(config)
        for fmt in args.formats.split(","):
            print(measure(app, fmt, files[fmt]), flush=True)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
