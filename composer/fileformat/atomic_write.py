"""Writing a file so that a failure half way (a full disk, a crash, a killed process) leaves
the old file whole: a temporary file beside it, then a rename over it."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Writes a temporary file in the same folder, then renames it over `path`, so a failure
    half way (a full disk, a crash) leaves the old file whole. A link is followed, and the file
    keeps its permissions (a new one gets those open() would give it)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    tmp, fd = _temporary(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _temporary(path: Path) -> tuple[Path, int]:
    """A new file beside `path`, created with mode 0666 less the umask, like open() would
    (mkstemp would make it readable by its owner only)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
