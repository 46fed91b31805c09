"""Where a download lands (`-o PATH`), checked before the first byte is asked for: a folder
that does not exist, a file where a folder should be, or a place nothing can be created in
is a one-line error, not a traceback after the transfer. An existing folder means "into this
folder", under the name the content was published with."""

from __future__ import annotations

import tempfile
from pathlib import Path

from dapp.errors import InvalidInput

OUTPUT_HINT = "pass -o with a file in an existing folder you can write to"


class OutputUnwritable(InvalidInput):
    """`-o PATH` names a place the download cannot be written to."""

    code = "output-unwritable"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint=OUTPUT_HINT)


def check_writable_folder(folder: Path, shown: Path) -> None:
    """`folder` exists, is a folder, and a file can be created in it (`shown` is what the
    user typed, for the message)."""
    if not folder.exists():
        missing = next((p for p in reversed([folder, *folder.parents]) if not p.exists()),
                       folder)
        raise OutputUnwritable(f"cannot write {shown}: the folder {missing} does not exist")
    if not folder.is_dir():
        blocking = next((p for p in [*reversed(folder.parents), folder]
                         if p.exists() and not p.is_dir()), folder)
        raise OutputUnwritable(f"cannot write {shown}: {blocking} is a file, not a folder")
    try:  # the one sure test (permissions, read-only mounts, /proc): create a file there
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".datadao-probe-"):
            pass
    except OSError as error:
        raise OutputUnwritable(f"cannot write {shown}: nothing can be created in {folder} "
                               f"({error.strerror or error})") from None


def planned_output(output: Path | None, default: str) -> Path:
    """What can be checked before anything is read: the folder the file will be written in.
    The path to write, or `output` itself when it is an existing folder (the file name is
    known only from the metadata: `into_folder`)."""
    if output is None:
        check_writable_folder(Path.cwd(), Path(default))
        return Path(default)
    if output.is_dir():
        check_writable_folder(output, output)
        return output
    check_writable_folder(output.parent, output)
    return output


def into_folder(output: Path, name: str) -> Path:
    """`output` itself, or `output`/`name` when `output` is a folder; the result must not be
    a folder."""
    if not output.is_dir():
        return output
    path = output / name
    if path.is_dir():
        raise OutputUnwritable(f"cannot write {path}: it is a folder")
    return path


def published_name(file_names: list[str], packed: bool, fallback: str) -> str:
    """The name content was published under: the file's own name for one file stored as is,
    `fallback` + ".tar" for a packed folder (or a name that is not a plain file name)."""
    if not packed and file_names:
        name = Path(file_names[0]).name
        if name not in ("", ".", ".."):
            return name
    return f"{fallback}.tar" if packed else fallback
