"""Helpers shared by the functional tests: an HTML tree, action posts, tiny files."""
from __future__ import annotations

import struct
import zlib
from html.parser import HTMLParser

from sqlalchemy import select

from portal.extensions import db
from portal.models import Case
from tests import factories
from tests.conftest import post


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def all(self, tag=None, cls=None, **attrs) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]

    def one(self, tag=None, cls=None, **attrs) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one {tag} {cls} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Node:
        return self.one(id=element_id)

    def field_container(self, field_id: str) -> Node:
        node = self.by_id(field_id)
        while "field" not in node.classes:
            node = node.parent
        return node


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", [], None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def html(response) -> Node:
    tree = _Tree()
    tree.feed(response.get_data(as_text=True))
    return tree.root


def textarea_value(node: Node) -> str:
    """What a browser shows: the newline right after <textarea> is not content."""
    assert node.tag == "textarea"
    text = node.text
    return text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text


def tiny_png() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def fresh(case: Case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def act(client, case: Case, name: str, **fields):
    """Post one action form the way the page does: prefixed fields plus the version seen."""
    version = db.session.scalar(select(Case.version_id).where(Case.id == case.id))
    data = {f"{name}-version": str(version), **{f"{name}-{k}": v for k, v in fields.items()}}
    return post(client, f"/cases/{case.id}/act/{name}", data)


def make_case(people, steps=(), **kw) -> Case:
    c = factories.case(people["resident"], **kw)
    factories.advance(c, steps, people)
    db.session.commit()
    return c


def event_actions(page: Node) -> list[str]:
    return [cls[3:] for li in page.by_id("timeline").all("li", cls="event") for cls in li.classes
            if cls.startswith("ev-")]


