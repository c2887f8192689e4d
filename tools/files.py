"""Files that action tools write instead of acting on the world (outbox, calendar)."""

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path


def slug(text: str, limit: int = 40) -> str:
    """A filename-safe version of `text`: lowercase words joined by hyphens."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:limit].strip("-") or "untitled"


def write_new(folder: Path, title: str, suffix: str, content: str) -> Path:
    """Write `content` to a new file in `folder` named after the time and `title`, atomically
    (a reader never sees half a file) and without overwriting an earlier one."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{slug(title)}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(content)
    for n in range(1000):
        path = folder / f"{stem}{f'-{n}' if n else ''}{suffix}"
        try:
            os.link(tmp, path)  # fails if the name is taken, unlike rename
        except FileExistsError:
            continue
        os.unlink(tmp)
        return path
    os.unlink(tmp)
    raise FileExistsError(f"no free file name for {stem}{suffix} in {folder}")
