"""Developer aid for the zh_Hans_CN catalogue.

    python scripts/po_fill.py            list untranslated msgids, one per line
    python scripts/po_fill.py FILE.tsv   fill translations from "msgid<TAB>msgstr" lines
Run `scripts/i18n` afterwards to compile.
"""
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def main() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans_CN")
    if len(sys.argv) == 1:
        for msg in catalog:
            if msg.id and not (msg.string if isinstance(msg.string, str) else all(msg.string)):
                print(msg.id if isinstance(msg.id, str) else " | ".join(msg.id))
        return
    filled = 0
    for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        msgid, msgstr = line.split("\t", 1)
        msg = catalog.get(msgid)
        if msg is None:
            print("unknown msgid:", msgid, file=sys.stderr)
            continue
        msg.string = msgstr
        filled += 1
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=True, no_location=True)
    print(f"filled {filled}")


if __name__ == "__main__":
    main()
