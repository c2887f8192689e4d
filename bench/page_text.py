"""Page-text quality: how much of a page's main content `tools.html_text` keeps, and how
much navigation it lets through, on the saved pages in tests/data/pages.

Each page names the XPath of its main content (pages.json); its words are the gold text.
An extractor's words are scored against them as multisets: precision (share of the output
that is main content), recall (share of the main content kept) and F1. The baseline is
every visible word of the page (scripts and styles removed), i.e. no boilerplate removal.
The last line is JSON.

    python bench/page_text.py
"""

import copy
import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.html_text import html_to_text

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"


def words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def visible_text(page: lxml.html.HtmlElement, gold: str = "//body", exclude: list[str] = ()) -> str:
    """The text of the first element at `gold`, without scripts, styles and `exclude`."""
    element = copy.deepcopy(page.xpath(gold)[0])
    for path in [".//script", ".//style", *exclude]:
        for unwanted in element.xpath(path):
            unwanted.drop_tree()
    return element.text_content()


def score(output: str, gold: Counter[str]) -> dict[str, float]:
    found = words(output)
    common = sum((found & gold).values())
    precision = common / max(sum(found.values()), 1)
    recall = common / max(sum(gold.values()), 1)
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def main() -> None:
    spec = json.loads((PAGES / "pages.json").read_text())["pages"]
    extractors: dict[str, Callable[[str], str]] = {
        "html_to_text": lambda html: html_to_text(html)[1],
        "all_visible_text": lambda html: visible_text(lxml.html.fromstring(html)),
    }
    per_page: dict[str, dict[str, dict[str, float]]] = {}
    for name, page in spec.items():
        html = (PAGES / name).read_text(encoding="utf-8")
        gold = words(visible_text(lxml.html.fromstring(html), page["gold"], page["exclude"]))
        per_page[name] = {
            label: score(extract(html), gold) for label, extract in extractors.items()
        }
        print(name, json.dumps(per_page[name]), file=sys.stderr)
    means = {
        label: {
            metric: round(statistics.mean(p[label][metric] for p in per_page.values()), 3)
            for metric in ("precision", "recall", "f1")
        }
        for label in extractors
    }
    print(json.dumps({
        "pages": len(per_page),
        "f1": means["html_to_text"]["f1"],
        "f1_baseline": means["all_visible_text"]["f1"],
        "mean": means,
        "per_page": per_page,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
