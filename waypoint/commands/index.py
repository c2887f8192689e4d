"""`waypoint index`: build and query the local search indexes used by search_wikipedia."""

from pathlib import Path
from typing import Annotated

import typer

from schemas.errors import WaypointError

app = typer.Typer(help="Build and query local search indexes.", no_args_is_help=True)


@app.command("build")
def build_command(
    corpus: Annotated[Path, typer.Argument(help="CORPUS.jsonl or CORPUS.parquet (title, text)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the index folder to write")],
    max_words: Annotated[int, typer.Option(help="words per passage", min=20)] = 150,
    batch_size: Annotated[int, typer.Option(help="passages embedded at once", min=1)] = 32,
) -> None:
    """Split a corpus into passages, embed them and write a quantized index.

    Example:

      waypoint index build articles.jsonl --out ~/.waypoint/indexes/articles

      waypoint chat --index ~/.waypoint/indexes/articles
    """
    from rich.console import Console

    from schemas.progress import counted_progress
    from tools.retrieval.corpus import read_articles, split_passages
    from tools.retrieval.embedder import Embedder
    from tools.retrieval.index import build_index, is_index

    # --out is replaced as a whole: only an index (or nothing) may be there
    if out.exists() and not out.is_dir():
        raise WaypointError(f"--out {out} is a file; name a folder for the index")
    if out.is_dir() and any(out.iterdir()) and not is_index(out):
        raise WaypointError(f"--out {out} holds files but is not an index; name another folder")
    console = Console(stderr=True)
    articles = list(read_articles(corpus))
    passages = list(split_passages(articles, max_words))
    embedder = Embedder(batch_size)
    with console.status("loading the embedding model…"):
        _ = embedder.model
    with counted_progress("embedding passages", len(passages)) as bar:
        build_index(passages, out, embedder, bar.advance)
    console.print(f"indexed {len(passages)} passages of {len(articles)} articles into {out}")


@app.command("search")
def search_command(
    index: Annotated[Path, typer.Argument(help="an index folder")],
    query: Annotated[str, typer.Argument(help="what to look for")],
    k: Annotated[int, typer.Option("-k", help="how many passages", min=1)] = 3,
) -> None:
    """Print the passages nearest to QUERY, best first, with their scores."""
    from tools.retrieval.embedder import Embedder
    from tools.retrieval.index import PassageIndex

    for hit in PassageIndex(index, Embedder()).search(query, k):
        typer.echo(f"{hit.score:.3f}  {hit.passage.title}: {hit.passage.text[:160]}")
