"""The framework's floor: a bare Flask + Jinja page with the board's table, rows from a Python list.

    .venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 'bench.floor:create_floor_app()'
    FLOOR_ROWS=25 ... (default 50: as many rows as the board page it is compared with)

No database, no login, no session, no CSRF, no translations: what is left is
Flask's request handling and Jinja rendering a page of the same shape and
about the same size as the board (a layout with navigation, a filter form,
a table whose rows carry the same cells, links, badges and date formatting).
The rows are built once at start-up; each request only renders them.
bench/load.py measures this next to the portal in the same run and reports
the portal's throughput as a ratio of it.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Flask, render_template
from jinja2 import DictLoader

KINDS = {"complaint": "投诉", "repair": "报修", "enquiry": "咨询", "suggestion": "建议"}
CHANNELS = {"phone": "电话", "online": "网上", "wechat": "微信", "walk_in": "来访"}
STATUSES = {"registered": "已登记", "acknowledged": "已受理", "dispatched": "已派单", "in_progress": "处理中",
            "resolved": "已解决", "closed": "已关闭"}
SEVERITIES = {"major": "重大", "important": "重要", "minor": "一般"}
TEXTS = ["厨房水管漏水，已经持续三天，墙面发霉，请尽快派人检修并查明渗水原因。", "2号电梯经常在12楼停顿，门关不上。",
         "楼道垃圾两天没有清运，气味很大。", "单元门禁坏了一周，陌生人随意进出。", "楼上住户每晚十一点后装修噪音。"]
CATEGORIES = ["工程及设施维修", "电梯", "水电", "安全及门禁", "停车", "清洁卫生"]
DEPARTMENTS = ["工程部", "保安部", "保洁部", "绿化部", "客服中心"]
NAMES = ["张伟", "李娜", "王秀英", "刘建国", "陈静", "杨磊"]


@dataclass
class Row:
    id: int
    number: str
    description: str
    received_at: datetime
    kind: str
    channel: str
    category: str
    place: str
    resident: str
    severity: str | None
    status: str
    department: str
    due_at: datetime | None
    promised_at: datetime | None
    reopen_count: int


def make_rows(n: int) -> list[Row]:
    rng = random.Random(n)
    now = datetime.now(timezone.utc)
    rows = []
    for i in range(n):
        received = now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        rows.append(Row(
            id=100000 - i, number=f"TS-20261122-{i:04d}", description=rng.choice(TEXTS) + f" #{i}",
            received_at=received, kind=rng.choice(list(KINDS)), channel=rng.choice(list(CHANNELS)),
            category=rng.choice(CATEGORIES),
            place=f"{rng.randint(1, 6)}栋-{rng.choice([2, 5, 8, 12]):02d}0{rng.randint(1, 2)}",
            resident=rng.choice(NAMES), severity=rng.choice([*SEVERITIES, None]), status=rng.choice(list(STATUSES)),
            department=rng.choice(DEPARTMENTS), due_at=received + timedelta(days=3) if rng.random() < .7 else None,
            promised_at=received + timedelta(days=2) if rng.random() < .3 else None,
            reopen_count=int(rng.random() < .05),
        ))
    return rows


PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="csrf-token" content="{{ token }}">
  <title>投诉看板 · 物业投诉与回访</title>
  <link rel="stylesheet" href="{{ url_for('static', filename='app.css') }}">
  <script src="{{ url_for('static', filename='htmx.min.js') }}" defer></script>
</head>
<body hx-headers='{"X-CSRFToken": "{{ token }}"}'>
<header class="top">
  <a class="brand" href="{{ url_for('floor') }}">物业投诉与回访</a>
  <nav>{% for label in nav %}<a href="{{ url_for('floor', section=loop.index) }}">{{ label }}</a>{% endfor %}</nav>
  <form method="post" action="{{ url_for('floor') }}" class="inline"><input type="hidden" name="csrf_token" value="{{ token }}">
    <button type="submit" class="link">退出</button></form>
</header>
<main>
<div class="page-head"><h1>投诉看板</h1><a class="btn primary" href="{{ url_for('floor', new=1) }}">登记投诉</a></div>
<form class="filters" method="get" action="{{ url_for('floor') }}" hx-get="{{ url_for('floor') }}" hx-target="#case-table"
      hx-trigger="input changed delay:300ms, search" hx-push-url="true">
  <input type="search" name="q" placeholder="搜索编号、内容、住户、房号">
  {% for name, options in filters %}
  <label>{{ name }}<select name="{{ name }}"><option value="">全部</option>
    {% for value, label in options.items() %}<option value="{{ value }}">{{ label }}</option>{% endfor %}</select></label>
  {% endfor %}
  <button type="submit" class="btn">筛选</button>
</form>
<section id="case-table" class="case-table" hx-get="{{ url_for('floor') }}" hx-target="this" hx-swap="outerHTML"
         hx-trigger="every 30s">
  <p class="count">共 {{ total }} 件 · 第 1 页，共 {{ (total / rows|length)|round(0, 'ceil')|int }} 页</p>
  <table class="cases">
    <thead><tr><th>编号</th><th>受理时间</th><th>类型</th><th>类别</th><th>位置</th><th>住户</th><th>等级</th><th>状态</th>
      <th>部门</th><th>期限</th><th>操作</th></tr></thead>
    <tbody>
    {% for case in rows %}
    <tr id="row-{{ case.id }}" class="{% if case.severity == 'major' %}row-major{% endif %}">
      <td data-label="编号"><a class="case-no" href="{{ url_for('floor', case_id=case.id) }}">{{ case.number }}</a>
        {% if case.reopen_count %}<span class="badge reopened">重开×{{ case.reopen_count }}</span>{% endif %}
        <div class="summary">{{ case.description|truncate(60) }}</div></td>
      <td data-label="受理时间">{{ case.received_at.strftime('%m-%d %H:%M') }}</td>
      <td data-label="类型" class="hide-phone">{{ kinds[case.kind] }}<br><small class="muted">{{ channels[case.channel] }}</small></td>
      <td data-label="类别" class="hide-phone">{{ case.category or '—' }}</td>
      <td data-label="位置">{{ case.place or '—' }}</td>
      <td data-label="住户">{{ case.resident or '—' }}</td>
      <td data-label="等级">{% if case.severity %}<span class="badge sev-{{ case.severity }}">{{ severities[case.severity] }}</span>{% else %}—{% endif %}</td>
      <td data-label="状态"><span class="badge status-{{ case.status }}">{{ statuses[case.status] }}</span></td>
      <td data-label="部门" class="hide-phone">{{ case.department or '—' }}</td>
      <td data-label="期限" class="due sla-{{ 'ok' if case.due_at else 'none' }}">
        {% if case.due_at %}<span class="due-clock">处理</span> <span class="badge sla-ok">剩 {{ ((case.due_at - now).total_seconds() // 3600)|int }} 小时</span>
        {% else %}—{% endif %}
        {% if case.promised_at %}<small class="muted promised">承诺 {{ case.promised_at.strftime('%m-%d %H:%M') }}</small>{% endif %}</td>
      <td data-label="操作" class="row-actions">
        <details hx-get="{{ url_for('floor', actions=case.id) }}" hx-trigger="toggle once" hx-target="find .row-forms" hx-swap="outerHTML">
          <summary>处理</summary>
          <div class="row-forms"><span class="spinner htmx-indicator"></span><a href="{{ url_for('floor', case_id=case.id) }}">打开</a></div>
        </details></td>
    </tr>
    {% endfor %}
    </tbody>
  </table>
  <nav class="pager"><a class="btn" href="{{ url_for('floor', page=2) }}">下一页</a></nav>
</section>
</main>
</body>
</html>
"""


def create_floor_app() -> Flask:
    """The floor app; FLOOR_ROWS rows (default 50) rendered on every GET /floor."""
    app = Flask(__name__, static_folder=None)
    app.jinja_loader = DictLoader({"floor.html": PAGE})  # compiled once, cached like any template file
    rows = make_rows(int(os.environ.get("FLOOR_ROWS", "50")))
    filters = [("status", STATUSES), ("kind", KINDS), ("severity", SEVERITIES), ("channel", CHANNELS),
               ("category", dict(enumerate(CATEGORIES))), ("department", dict(enumerate(DEPARTMENTS)))]
    nav = ["看板", "登记", "部门", "回访", "升级", "报表", "设置", "English"]

    @app.route("/floor")
    def floor():
        return render_template("floor.html", rows=rows, total=100000, filters=filters, nav=nav,
                               kinds=KINDS, channels=CHANNELS, statuses=STATUSES, severities=SEVERITIES,
                               now=datetime.now(timezone.utc), token="f" * 88)

    app.add_url_rule("/static/<path:filename>", "static", lambda filename: ("", 404))
    return app
