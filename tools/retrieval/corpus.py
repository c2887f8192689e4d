"""A corpus of articles (JSONL or Parquet with `title` and `text`) and the passages it is
split into for retrieval."""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError

from schemas.errors import WaypointError, validation_problem

MAX_WORDS = 150  # per passage: well inside the embedding model's 256-token window
SPLIT_VERSION = 2  # bumped when passages are cut differently: cached indexes are rebuilt


class CorpusError(WaypointError):
    """A corpus file is missing, unreadable, or has a record without title and text."""


class Article(BaseModel):
    title: str
    text: str
    url: str = ""


class Passage(BaseModel):
    title: str
    text: str
    source: str = ""  # a URL where one is known

    def embedding_text(self) -> str:
        # the title disambiguates passages that never name their subject
        return f"{self.title}. {self.text}"


def read_articles(path: Path) -> Iterator[Article]:
    """Articles from a .jsonl or .parquet file, checked record by record."""
    if not path.is_file():
        raise CorpusError(f"no such corpus file: {path}")
    records = _parquet_records(path) if path.suffix == ".parquet" else _jsonl_records(path)
    for where, record in records:
        try:
            yield Article.model_validate(record)
        except ValidationError as e:
            raise CorpusError(f"{path}, {where}: {validation_problem(e, 'article')}") from e


def _jsonl_records(path: Path) -> Iterator[tuple[str, object]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise CorpusError(f"{path}, line {number}: not UTF-8 text (byte {e.start})") from e
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{path}, line {number}: not JSON ({e.msg})") from e


def _parquet_records(path: Path) -> Iterator[tuple[str, object]]:
    try:
        import pyarrow.parquet as pq  # only Parquet corpora pay for the import
    except ImportError as e:
        raise CorpusError(f"reading {path} needs pyarrow: pip install pyarrow") from e

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several unrelated types for a bad file
        raise CorpusError(f"cannot read {path} as Parquet: {e}") from e
    for number, record in enumerate(table.to_pylist(), 1):
        yield f"row {number}", record


def split_passages(articles: Iterable[Article], max_words: int = MAX_WORDS) -> Iterator[Passage]:
    """Whole paragraphs joined into passages of up to `max_words`; a longer paragraph in
    windows of that size. A short article stays one passage, so a search that finds it
    returns every fact it holds, not the paragraph that happened to match best."""
    for article in articles:
        for words in _passage_words(article.text, max_words):
            yield Passage(title=article.title, text=" ".join(words), source=article.url)


def _passage_words(text: str, max_words: int) -> Iterator[list[str]]:
    current: list[str] = []
    for paragraph in text.split("\n\n"):
        words = paragraph.split()
        if current and len(current) + len(words) > max_words:
            yield current
            current = []
        if len(words) > max_words:
            for start in range(0, len(words), max_words):
                yield words[start : start + max_words]
        else:
            current += words
    if current:
        yield current
