"""Strings that are none of a given set: a trie with an escape hatch at every node."""

from schemas.grammar import json_text
from schemas.grammar.gbnf import alternatives, literal, repeat


def not_strings(excluded: list[str], lo: int, hi: int, char: str) -> str:
    """String content of lo..hi characters that is none of `excluded`, in canonical form.

    A trie over the excluded strings: at each node the string may stop (if that is not an
    excluded word), take a child character (and stay in the trie), or take any other
    character (and be free of every exclusion from then on). `char` names the rule for one
    canonical character.
    """
    words = {tuple(json_text.encode(c) for c in s) for s in excluded}
    return _trie(sorted(words), 0, lo, hi, char) or '""'


def _trie(words: list[tuple[str, ...]], depth: int, lo: int, hi: int, char: str) -> str | None:
    children: dict[str, list[tuple[str, ...]]] = {}
    for w in words:
        if len(w) > depth:
            children.setdefault(w[depth], []).append(w)
    options = []
    if depth >= lo and all(len(w) != depth for w in words):
        options.append('""')
    if depth < hi:
        for unit, group in children.items():
            rest = _trie(group, depth + 1, lo, hi, char)
            if rest is not None:
                options.append(_join(literal(unit), rest))
        free = repeat(char, max(lo - depth - 1, 0), hi - depth - 1)
        options.append(_join(json_text.char_except(frozenset(children)), free))
    return alternatives(options) if options else None


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p and p != '""') or '""'
