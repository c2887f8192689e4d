"""search_wikipedia on the shipped corpus: real embeddings, a quantized usearch index, the
best article quoted (or summarised by a summarizer model); plus the index's own checks and
`waypoint index`."""

import json

import pytest
from typer.testing import CliRunner

from schemas.trajectory import Scratchpad
from tools.retrieval.corpus import CorpusError, read_articles, split_passages
from tools.retrieval.embedder import shared_embedder
from tools.retrieval.index import PassageIndex, RetrievalIndexError, build_index, cached_index
from tools.search_wikipedia import LocalIndex, SearchWikipedia, bundled_corpus

TITLES = [a.title for a in read_articles(bundled_corpus())]


@pytest.fixture(scope="session")
def encyclopedia(tmp_path_factory):
    folder = cached_index(bundled_corpus(), tmp_path_factory.mktemp("indexes"), shared_embedder())
    return PassageIndex(folder, shared_embedder())


def test_the_corpus_is_a_few_dozen_articles():
    assert len(TITLES) >= 30 and len(set(TITLES)) == len(TITLES)


@pytest.mark.parametrize("rescore", [True, False], ids=["rescored", "binary-only"])
def test_every_article_ranks_first_for_its_own_title(encyclopedia, rescore):
    misses = {}
    for title in TITLES:
        best = encyclopedia.search(title, k=3, rescore=rescore)[0]
        if best.passage.title != title:
            misses[title] = best.passage.title
    assert misses == {}


def test_questions_find_their_article(encyclopedia):
    hits = encyclopedia.search("How many hearts does an octopus have?", k=3)
    assert hits[0].passage.title == "Octopus" and "three hearts" in hits[0].passage.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_wikipedia_quotes_the_best_article_word_for_word(encyclopedia):
    """Nothing a small model could garble: the article itself, under its title."""
    tool = SearchWikipedia(LocalIndex(encyclopedia.folder, encyclopedia.folder.parent))
    observation = tool.run("How high is Mount Everest?", "Find the height of Mount Everest.",
                           Scratchpad())  # fmt: skip
    title, _, text = observation.text.partition(": ")
    assert title == "Mount Everest" and not observation.final
    assert "put its summit at 8,849 metres" in text and "29 May 1953" in text  # whole article
    assert text in " ".join(" ".join(a.text.split()) for a in read_articles(bundled_corpus()))


def test_a_summarizer_model_condenses_the_passages(chat_model, encyclopedia):
    tool = SearchWikipedia(
        LocalIndex(encyclopedia.folder, encyclopedia.folder.parent), summarizer=chat_model
    )
    observation = tool.run("When did Mozart die?", "Find when Mozart died", Scratchpad())
    answer, _, sources = observation.text.rpartition(" (sources: ")
    assert answer.strip() and not observation.final
    assert sources.startswith("Wolfgang Amadeus Mozart") and sources.endswith(")")


def test_the_bundled_index_is_built_once_and_rebuilt_for_a_new_corpus(tmp_path):
    corpus = tmp_path / "tiny.jsonl"
    corpus.write_text(json.dumps({"title": "Zorblat", "text": "A zorblat is a small drum."}) + "\n")
    first = cached_index(corpus, tmp_path / "cache", shared_embedder())
    stamp = (first / "manifest.json").stat().st_mtime_ns
    assert cached_index(corpus, tmp_path / "cache", shared_embedder()) == first
    assert (first / "manifest.json").stat().st_mtime_ns == stamp
    corpus.write_text(json.dumps({"title": "Quenton", "text": "Quenton is a town."}) + "\n")
    assert cached_index(corpus, tmp_path / "cache", shared_embedder()) != first


def test_index_errors_are_one_clear_line(tmp_path):
    with pytest.raises(RetrievalIndexError, match="no index in"):
        PassageIndex(tmp_path, shared_embedder())
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RetrievalIndexError, match="not an index"):
        build_index(
            list(split_passages(read_articles(bundled_corpus())))[:2], tmp_path, shared_embedder()
        )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # nothing half-written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"title": "A", "text": "x"}\nnot json\n', "line 2: not JSON"),
        ('{"title": "A"}\n', "line 1: text: Field required"),
    ],
)
def test_corpus_errors_name_the_line(tmp_path, content, message):
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text(content)
    with pytest.raises(CorpusError, match=message):
        list(read_articles(corpus))


def test_parquet_corpora_read_like_jsonl(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"title": ["A", "B"], "text": ["one\n\ntwo", "three"]}), path)
    passages = list(split_passages(read_articles(path)))
    assert [(p.title, p.text) for p in passages] == [("A", "one two"), ("B", "three")]


def test_long_paragraphs_are_split_into_windows_and_short_ones_joined():
    from tools.retrieval.corpus import Article

    article = Article(title="T", text=" ".join(f"w{i}" for i in range(25)))
    assert [len(p.text.split()) for p in split_passages([article], max_words=10)] == [10, 10, 5]
    short = Article(title="S", text="one two\n\nthree four five\n\nsix seven eight nine ten")
    assert [p.text for p in split_passages([short], max_words=5)] == [
        "one two three four five", "six seven eight nine ten"
    ]  # fmt: skip


def test_index_build_command(tmp_path):
    from waypoint.cli import app

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(json.dumps({"title": t, "text": f"{t} is a word."}) + "\n" for t in ("Ab", "Cd"))
    )
    out = tmp_path / "index"
    result = CliRunner().invoke(app, ["index", "build", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "indexed 2 passages of 2 articles" in result.output
    result = CliRunner().invoke(app, ["index", "search", str(out), "Cd", "-k", "1"])
    assert result.exit_code == 0 and "Cd: Cd is a word." in result.output
