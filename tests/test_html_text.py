"""Page text from saved documentation pages (tests/data/pages): the article is kept, the
menus, sidebars and headers around it are not."""

from pathlib import Path

import pytest

from tools.html_text import html_to_text

PAGES = Path(__file__).parent / "data" / "pages"

# (page, title, sentences of the main content, navigation text around it)
CASES = [
    ("rustc-book-what-is-rustc.html", "What is rustc? - The rustc book",
     ["rustc is the compiler for the Rust programming language, provided by the project itself.",
      "In other words, the crate is a translation unit, not a particular module."],
     ["Keyboard shortcuts", "Press ? to show this help"]),
    ("nodejs-api-punycode.html", "Punycode | Node.js v20.20.2 Documentation",
     ["The punycode module is a bundled version of the Punycode.js module.",
      "Returns a string identifying the current Punycode.js version number."],
     ["Asynchronous context tracking", "Skip to content", "Child processes"]),
    ("npm-docs-update.html", "npm-update",
     ["It will also install missing packages."],
     ["Edit this page on GitHub"]),
    ("rust-std-keyword-match.html", "match - Rust",
     ["Control flow based on pattern matching."],
     ["Copy item path", "Skip to main content"]),
    ("valgrind-faq.html", "Valgrind Frequently Asked Questions",
     ["you are probably requesting help from unpaid volunteers"],
     ["<< Valgrind FAQ", "Valgrind Technical Documentation >>"]),
]  # fmt: skip


@pytest.mark.parametrize(("page", "title", "kept", "dropped"), CASES, ids=[c[0] for c in CASES])
def test_the_article_is_kept_and_the_menus_are_not(page, title, kept, dropped):
    found_title, text = html_to_text((PAGES / page).read_text(encoding="utf-8"))
    assert found_title == title
    for sentence in kept:
        assert sentence in text
    for menu in dropped:
        assert menu not in text


def test_blocks_are_paragraphs_with_their_whitespace_folded():
    _, text = html_to_text((PAGES / "rustc-book-what-is-rustc.html").read_text(encoding="utf-8"))
    blocks = text.split("\n\n")
    assert blocks[0] == "What is rustc?"
    assert all(block == " ".join(block.split()) for block in blocks)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("", ("", "")),
        ("<!-- nothing -->", ("", "")),
        ('<?xml version="1.0" encoding="iso-8859-1"?><html><title>T</title><p>Hi.</p></html>',
         ("T", "Hi.")),
        ("<html><body><p>Short note.</p><script>var x = 1;</script></body></html>",
         ("", "Short note.")),
    ],
)  # fmt: skip
def test_small_and_odd_documents(html, expected):
    assert html_to_text(html) == expected
