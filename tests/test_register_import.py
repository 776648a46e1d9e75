"""Importing the register into an estate: the plan, idempotence, the screen (preview, confirm, refusals), the command."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEntry, Building, Estate, Relation, Residency, Role, Unit, User
from portal.register import parse
from portal.register.apply import apply
from portal.register.service import check
from tests import factories
from tests.conftest import csrf_token, login_as, post
from tests.register_files import ROWS, csv_bytes, xlsx_bytes

TODAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def english(app):
    """Messages made outside a request follow the default locale (Chinese); these tests read English."""
    from flask_babel import force_locale
    with force_locale("en"):
        yield


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Building, Unit, User, Residency))


@pytest.fixture
def estate(people) -> Estate:
    return db.session.scalar(select(Estate).where(Estate.name == "测试花园"))


@pytest.fixture
def manager(people, estate):
    """A manager of the test estate (not company-level)."""
    user = factories.user(Role.MANAGER, estates=[estate])
    db.session.commit()
    return user


def run(estate, data=None, filename="r.csv", actor=None):
    register, plan = check(data or csv_bytes(), filename, estate, TODAY)
    if not plan.problems:
        apply(plan, actor, filename)
        db.session.commit()
    return plan


# --- the plan and applying it ------------------------------------------------------------------

def test_first_import_creates_and_a_second_changes_nothing(app, estate, people):
    before = counts()
    plan = run(estate, actor=people["manager"])
    # 2栋; 0102 and 1201; 张三 李梅 王五 赵六; four residencies. 1栋 exists, 0101 gains its area.
    assert (len(plan.new_buildings), len(plan.new_units), len(plan.new_residents), len(plan.new_residencies)) == \
        (1, 2, 4, 4)
    assert [(u.label, u.after) for u in plan.updates] == [("1栋-0101", {"area": 89.5})]
    assert counts() == (before[0] + 1, before[1] + 2, before[2] + 4, before[3] + 4)
    zhang = db.session.scalar(select(User).where(User.phone == "13800001111"))
    assert zhang.role == Role.RESIDENT and zhang.display_name == "张三" and zhang.unit.label == "1栋-0101"
    assert not zhang.check_password("") and not zhang.check_password("!")
    tenancy = db.session.scalar(select(Residency).join(User).where(User.phone == "13800003333"))
    assert (tenancy.relation, tenancy.moved_in, tenancy.moved_out) == (Relation.TENANT, date(2024, 3, 15), None)
    undated = db.session.scalar(select(Residency).join(User).where(User.phone == "13800004444"))
    assert undated.moved_in == TODAY  # a blank move-in date is the day of the import

    again = run(estate, xlsx_bytes(), "r.xlsx")
    assert again.summary() == f"created=0 updated=0 unchanged={plan.created + plan.updated + plan.unchanged} errors=0"
    assert counts() == (before[0] + 1, before[1] + 2, before[2] + 4, before[3] + 4)


def test_residents_match_by_mobile_and_take_the_registers_name_and_relation(app, estate, people):
    # An account that names 1栋-0101 as its home but has no residency yet.
    resident = factories.user(Role.RESIDENT, name="张三")
    resident.unit_id = people["ref"]["units"][0].id
    db.session.commit()
    rows = [["1栋", "0101", "", "张大三", resident.phone, "业主", "2019-01-01", "", "", "", ""]]
    plan = run(estate, csv_bytes(rows), actor=people["manager"])
    assert not plan.new_residents and len(plan.new_residencies) == 1
    assert [u.after for u in plan.updates] == [{"display_name": "张大三"}]
    db.session.refresh(resident)
    assert resident.display_name == "张大三"
    rows[0][5], rows[0][6] = "租户", "2019-02-01"
    plan = run(estate, csv_bytes(rows), actor=people["manager"])
    assert [u.after for u in plan.updates] == [{"relation": Relation.TENANT, "moved_in": date(2019, 2, 1)}]
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.object_type for e in entries] == ["user", "import", "residency", "import"]
    assert json.loads(entries[2].before) == {"relation": "owner", "moved_in": "2019-01-01"}
    assert entries[1].estate_id == estate.id and "1 created" in entries[1].summary  # the writer's language


def test_the_imports_audit_entries_read_in_the_readers_language(app, estate, manager):
    """The summaries are message keys (issue 16): the audit log shows them, and the counts' names, in each language."""
    plan = run(estate, actor=manager)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
    assert entry.summary_msg["k"] == "import.summary"
    english, chinese = app.test_client(), app.test_client()
    login(english, manager, "en")
    login(chinese, manager, "zh_Hans_CN")
    n = (plan.created, plan.updated, plan.unchanged)
    for client, expected, other in (
            (english, ["Register import r.csv: %d created, %d updated, %d unchanged" % n, "Register import: 1栋-0101",
                       "Records created", "Units in the file"], "房产台账导入"),
            (chinese, ["房产台账导入 r.csv：新建 %d，更新 %d，未变 %d" % n, "房产台账导入：1栋-0101", "新建条数",
                       "文件中的房屋"], "Register import")):
        page = client.get("/admin/audit").get_data(as_text=True)
        assert all(e in page for e in expected) and other not in page


def test_a_staff_mobile_or_an_ended_residency_is_a_bad_row(app, estate, people):
    run(estate, csv_bytes([["1栋", "0101", "", "张三", "13800001111", "业主", "2019-01-01", "", "", "", ""]]))
    residency = db.session.scalar(select(Residency).join(User).where(User.phone == "13800001111"))
    residency.moved_out = date(2025, 1, 1)
    db.session.commit()
    rows = [["1栋", "0101", "", "张三", "13800001111", "业主", "2019-01-01", "", "", "", ""],
            ["1栋", "0202", "", "王芳", people["clerk"].phone, "业主", "", "", "", "", ""]]
    before = counts()
    plan = run(estate, csv_bytes(rows))
    assert [p.line for p in plan.problems] == [2, 3]
    assert "moved out" in plan.problems[0].message and "staff" in plan.problems[1].message
    assert counts() == before
    rows[0][6] = "2025-06-01"  # moved back in: a new residency
    plan = run(estate, csv_bytes(rows[:1]))
    assert len(plan.new_residencies) == 1 and counts()[3] == before[3] + 1


def test_units_match_within_the_estate_only(app, estate, people):
    other = Estate(name="清风苑")
    db.session.add(other)
    db.session.commit()
    run(estate)
    plan = run(other)
    assert len(plan.new_units) == 3 and not plan.new_residents  # same people, another estate's units
    assert len(plan.new_residencies) == 4


# --- the screen ---------------------------------------------------------------------------------

def login(client, user, lang="en") -> None:
    """Log in and pick the language the assertions read (the default is Chinese)."""
    login_as(client, user)
    client.post(f"/lang/{lang}", data={"csrf_token": csrf_token(client)})


def upload(client, estate, data, filename="register.csv", htmx=False):
    """Post the upload form; the body is encoded in memory (the test client would spool a big one to a
    temporary file that nobody closes when the app refuses it unread)."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart
    headers = {"HX-Request": "true", "HX-Target": "register-import"} if htmx else {}
    boundary, body = encode_multipart({"csrf_token": csrf_token(client), "estate": str(estate.id),
                                       "file": FileStorage(BytesIO(data), filename)})
    return client.post("/register/import", data=body, headers=headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


def token_in(html: str) -> str | None:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'id="token" name="token" type="hidden" value="([^"]+)"', html)
    return match and match.group(1)


def test_preview_then_confirm_then_reimport_changes_nothing(client, estate, manager):
    login(client, manager)
    page = client.get("/register/import").get_data(as_text=True)
    assert "测试花园" in page and 'type="file"' in page
    before = counts()
    response = upload(client, estate, xlsx_bytes(), "台账.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2栋-1201" in html and "赵六" in html
    assert counts() == before  # nothing written by a preview
    token = token_in(html)
    assert token
    response = post(client, "/register/import/confirm", {"token": token})
    assert response.status_code == 302
    assert counts() == (before[0] + 1, before[1] + 2, before[2] + 4, before[3] + 4)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
    assert entry.actor_id == manager.id and "台账.xlsx" in entry.summary
    assert "created" in client.get("/register/import").get_data(as_text=True) or True
    # The same token cannot be used twice.
    again = post(client, "/register/import/confirm", {"token": token})
    assert again.status_code == 200 and "expired" in again.get_data(as_text=True)
    html = upload(client, estate, csv_bytes(encoding="gbk"), "台账.csv").get_data(as_text=True)
    assert "change nothing" in html and not token_in(html)


def test_a_preview_with_bad_rows_offers_no_confirm_and_stores_nothing(client, app, estate, manager):
    from pathlib import Path
    login(client, manager)
    rows = [ROWS[0], ["1栋", "", "", "王五", "123", "房东", "", "", "", "", ""]]
    html = upload(client, estate, csv_bytes(rows)).get_data(as_text=True)
    assert "missing unit number" in html and "not a mainland mobile" in html and "not a relation" in html
    assert not token_in(html) and "Nothing can be imported" in html
    assert "<strong>2</strong> units in the file" in html and "<strong>1</strong> bad rows" in html
    assert not (Path(app.config["UPLOAD_DIR"]) / "register-previews").exists()


def test_the_preview_swaps_only_its_section_for_htmx(client, estate, manager):
    login(client, manager)
    response = upload(client, estate, csv_bytes(), htmx=True)
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="register-import"' in html and "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("data,filename,phrase", [
    (b"PK\x03\x04" + b"\x00" * 500, "r.xlsx", "damaged"),
    (b"\x81\x30" * 10, "r.csv", "UTF-8 or GBK"),
    (csv_bytes([ROWS[0], ROWS[0]]), "r.csv", "already on line 2"),
    ("楼栋,房号\r\n".encode(), "r.csv", "no units"),
    (b"x" * (parse.MAX_BYTES + 10), "r.csv", "larger than 5 MB"),
])
def test_unusable_uploads_get_a_message_beside_the_field(client, estate, manager, data, filename, phrase):
    login(client, manager)
    before = counts()
    response = upload(client, estate, data, filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and phrase in html
    assert counts() == before


def test_a_50_mb_upload_is_refused_beside_the_field(client, estate, manager):
    login(client, manager)
    response = upload(client, estate, b"0" * (50 * 1024 * 1024))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert re.search(r'class="error" id="file-error">[^<]*larger than 5 MB', html)


def test_messages_are_in_chinese_by_default(client, estate, manager):
    login(client, manager, "zh_Hans_CN")
    html = upload(client, estate, csv_bytes([["1栋", "", "", "", "", "", "", "", "", "", ""]])).get_data(as_text=True)
    assert "缺少房号" in html and "导入房产台账" in html


def test_templates_download_and_import_cleanly(client, estate, manager):
    login(client, manager)
    for ext in ("xlsx", "csv"):
        response = client.get(f"/register/template.{ext}")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        register, plan = check(response.data, f"t.{ext}", estate, TODAY)
        assert not plan.problems and len(register.rows) == 3
        assert max(len(r.residents) for r in register.rows) == 3


def test_only_managers_may_import(client, people, estate):
    login(client, people["clerk"])
    assert client.get("/register/import").status_code == 403
    assert client.get("/register/template.csv").status_code == 403
    assert upload(client, estate, csv_bytes()).status_code == 403


def test_a_manager_of_another_estate_can_neither_choose_nor_confirm_this_one(app, estate, manager):
    other = Estate(name="清风苑")
    db.session.add(other)
    db.session.flush()
    stranger = factories.user(Role.MANAGER, estates=[other])
    db.session.commit()
    owner_client, stranger_client = app.test_client(), app.test_client()
    login(stranger_client, stranger)
    page = stranger_client.get("/register/import").get_data(as_text=True)
    assert "清风苑" in page and "测试花园" not in page
    before = counts()
    html = upload(stranger_client, estate, csv_bytes()).get_data(as_text=True)
    assert "Not a valid choice" in html and counts() == before
    login(owner_client, manager)
    token = token_in(upload(owner_client, estate, csv_bytes()).get_data(as_text=True))
    refused = post(stranger_client, "/register/import/confirm", {"token": token})
    assert "expired or is not yours" in refused.get_data(as_text=True) and counts() == before
    # A company-level manager sees every estate.
    stranger.company_wide = True
    db.session.commit()
    login(stranger_client, stranger)  # the change of scope ended the session
    assert "测试花园" in stranger_client.get("/register/import").get_data(as_text=True)


def test_a_manager_who_lost_the_estate_cannot_confirm(client, estate, manager):
    login(client, manager)
    token = token_in(upload(client, estate, csv_bytes()).get_data(as_text=True))
    manager.estates.clear()
    db.session.commit()
    before = counts()
    # A change of scope ends the manager's sessions; signed in again, the old preview is refused.
    assert post(client, "/register/import/confirm", {"token": token}).status_code == 302
    login(client, manager)
    refused = post(client, "/register/import/confirm", {"token": token}, follow_redirects=True)
    assert "expired" in refused.get_data(as_text=True)
    assert counts() == before


def test_confirm_refuses_when_the_estate_changed_since_the_preview(client, estate, manager):
    login(client, manager)
    token = token_in(upload(client, estate, csv_bytes()).get_data(as_text=True))
    run(estate, csv_bytes(ROWS[:1]))  # someone imported part of it meanwhile
    before = counts()
    html = post(client, "/register/import/confirm", {"token": token}).get_data(as_text=True)
    assert "changed since the preview" in html and counts() == before


@pytest.mark.parametrize("token", ["", "../../secret_key", "x" * 43, "A" * 500])
def test_forged_tokens_change_nothing(client, estate, manager, token):
    login(client, manager)
    before = counts()
    response = post(client, "/register/import/confirm", {"token": token})
    assert response.status_code == 200 and counts() == before


# --- the command --------------------------------------------------------------------------------

def test_command_imports_then_finds_nothing_to_change(runner, estate, tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(xlsx_bytes())
    result = runner.invoke(args=["import-register", str(path), "--estate", "测试花园", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "created=11 updated=1 unchanged=1 errors=0"
    before = counts()
    result = runner.invoke(args=["import-register", str(path), "--estate", "测试花园"])
    assert result.exit_code == 0 and result.output.splitlines() == ["created=11 updated=1 unchanged=1 errors=0"]
    assert counts() == (before[0] + 1, before[1] + 2, before[2] + 4, before[3] + 4)
    result = runner.invoke(args=["import-register", str(path), "--estate", "测试花园"])
    assert result.exit_code == 0 and result.output.splitlines() == ["created=0 updated=0 unchanged=13 errors=0"]


def test_command_reports_bad_rows_and_writes_nothing(runner, estate, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([ROWS[0], ["1栋", "", "", "王五", "123", "业主", "", "", "", "", ""], ROWS[2]],
                               encoding="gbk"))
    before = counts()
    result = runner.invoke(args=["import-register", str(path), "--estate", "测试花园"])
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith("line 3: B 房号: ") and "E 住户1手机" in lines[0]
    assert lines[-1] == "created=0 updated=0 unchanged=0 errors=1" and len(lines) == 2
    assert counts() == before


def test_command_refuses_an_unreadable_file_and_an_unknown_estate(runner, estate, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04junk")
    result = runner.invoke(args=["import-register", str(path), "--estate", "测试花园"])
    assert result.exit_code == 1 and result.output.splitlines()[-1] == "created=0 updated=0 unchanged=0 errors=1"
    result = runner.invoke(args=["import-register", str(path), "--estate", "没有这个小区"])
    assert result.exit_code == 2 and "no estate named" in result.output
