"""Readable text from an HTML page: the main content a person reads, without scripts,
styles, navigation, sidebars or footers, one paragraph (or list item, table row, code
block) per block, blocks separated by blank lines.

The main content is found by trafilatura (boilerplate removal measured on saved pages in
`bench/page_text.py`); a page too short for it to judge keeps all its visible text.
"""

import re

import lxml.html
from lxml import etree

# trafilatura's own markup (XML-TEI-like): elements that hold blocks of text of their own
# (a code element may also sit inside a paragraph, so it does not make one a container)
_INNER_BLOCKS = {"head", "p", "item", "row", "quote", "list", "table"}
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML document."""
    if not html.strip():
        return "", ""
    try:  # lxml refuses text that still declares an encoding; the text is decoded already
        page = lxml.html.document_fromstring(_XML_DECLARATION.sub("", html, count=1))
    except etree.ParserError:  # nothing but comments or processing instructions
        return "", ""
    import trafilatura  # not light (dateparser and friends): only when a page is read

    title = _clean(page.findtext(".//title") or "")
    document = trafilatura.bare_extraction(page, include_tables=True, favor_recall=True)
    if document is None or document.body is None:
        text = trafilatura.html2txt(page)  # too little to tell content from chrome
        return title, "\n\n".join(_clean(line) for line in text.splitlines() if line.strip())
    return title, "\n\n".join(_blocks(document.body))


def _blocks(element: etree._Element) -> list[str]:
    """The text of each block, in order; a block holding blocks (a paragraph around a list)
    gives its own words and then theirs, never the two run together."""
    blocks = []
    for child in element:
        if any(d.tag in _INNER_BLOCKS for d in child.iterdescendants()):
            blocks += [lead] if (lead := _clean(child.text or "")) else []
            blocks += _blocks(child)
        elif text := _row(child) if child.tag == "row" else _clean("".join(child.itertext())):
            blocks.append(text)
        blocks += [tail] if (tail := _clean(child.tail or "")) else []
    return blocks


def _row(row: etree._Element) -> str:
    cells = (_clean("".join(cell.itertext())) for cell in row)
    return " | ".join(cell for cell in cells if cell)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
