"""a case description found at a callback and the register import's audit summaries kept as message keys;
the texts already written in the known templates back-filled (issue 16)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 02:40:00

Back-fill: only texts that match a template the portal wrote, in full, become keys; anything else
(a text somebody edited, a label of a version not listed here) keeps showing its text. The templates
and labels are copied here, not imported, so this migration means the same thing whatever the code
says later.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# The callback kinds' labels as they were written, in both languages and every wording used.
KIND_LABELS = {
    "投诉回访": "complaint", "Complaint callback": "complaint",
    "报修回访": "repair", "Repair callback": "repair",
    "维修工程": "works", "Maintenance works": "works",
    "例行回访": "routine", "Routine": "routine",
    "新入住住户": "new_resident", "New resident": "new_resident",
    "经理上门走访": "manager_visit", "Manager home visit": "manager_visit",
    "户内紧急维修后回访": "incident", "事故后回访": "incident",
    "After an urgent repair at home": "incident", "After an incident": "incident",
}
# portal/callbacks/service.py open_case: the sentence, then on the next line what the resident said.
CALLBACK_DESCRIPTION = re.compile(r"(?:回访不满意（(?P<zh>[^（）\n]+)）。|Dissatisfied at a callback \((?P<en>[^()\n]+)\)\.)"
                                  r"(?:\n(?P<what>.*))?\Z", re.S)
# portal/register/apply.py before keys (always Chinese).
IMPORT_SUMMARY = re.compile(r"房产台账导入 (?P<file>.*)：新建 (?P<created>\d+)，更新 (?P<updated>\d+)，未变 (?P<unchanged>\d+)\Z", re.S)
IMPORT_UPDATE = re.compile(r"房产台账导入：(?P<label>.+)\Z", re.S)

case_table = sa.table("case", sa.column("id", sa.Integer), sa.column("channel", sa.String),
                      sa.column("description", sa.Text), sa.column("description_msg", sa.JSON))
audit_table = sa.table("audit_entry", sa.column("id", sa.Integer), sa.column("object_type", sa.String),
                       sa.column("action", sa.String), sa.column("summary", sa.String),
                       sa.column("summary_msg", sa.JSON))


def description_item(text):
    """The message items of a description the portal wrote at a dissatisfied callback, else None."""
    m = CALLBACK_DESCRIPTION.match(text or "")
    kind = m and KIND_LABELS.get(m.group("zh") or m.group("en"))
    if not kind:
        return None
    item = [{"k": "callback.complaint", "p": {"kind": {"k": "label:callback_kind", "p": {"value": kind}}}}]
    return item + [m.group("what")] if m.group("what") else item


def summary_item(object_type, action, text):
    """The message item of an audit summary the register import wrote, else None."""
    if object_type == "import" and action == "import":
        m = IMPORT_SUMMARY.match(text or "")
        if m:
            return {"k": "import.summary", "p": {"file": m.group("file"), **{
                k: int(m.group(k)) for k in ("created", "updated", "unchanged")}}}
    elif action == "update":
        m = IMPORT_UPDATE.match(text or "")
        if m:
            return {"k": "import.update", "p": {"label": m.group("label")}}
    return None


def upgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description_msg', sa.JSON(), nullable=True))
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary_msg', sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(case_table.c.id, case_table.c.description).where(
        case_table.c.channel == "callback")).all()
    for case_id, text in rows:
        item = description_item(text)
        if item:
            conn.execute(case_table.update().where(case_table.c.id == case_id).values(description_msg=item))
    rows = conn.execute(sa.select(audit_table.c.id, audit_table.c.object_type, audit_table.c.action,
                                  audit_table.c.summary).where(audit_table.c.summary.like("房产台账导入%"))).all()
    for entry_id, object_type, action, text in rows:
        item = summary_item(object_type, action, text)
        if item:
            conn.execute(audit_table.update().where(audit_table.c.id == entry_id).values(summary_msg=item))


def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('summary_msg')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('description_msg')
