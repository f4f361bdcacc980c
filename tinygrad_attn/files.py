"""Reading and writing files safely: whole or not at all, and never more than asked for.

Weights files and figures are written through `write_atomic`: the bytes go to a temporary
file with a fresh random name in the same folder, created exclusively (an existing file or
a link planted under that name makes the creation fail instead of being followed), and then
replace the target in one step. A reader never sees half a file, and a failure removes the
temporary file and names the user's path.

`read_limited` opens without blocking, refuses anything that is not a regular file (a
named pipe would wait forever, `/dev/zero` never ends) and reads at most the number of
bytes the caller expects, so a huge file is refused before it fills memory.
"""

import errno
import os
import secrets
import stat

__all__ = ["path_argument", "write_atomic", "read_limited"]


def path_argument(path, what):
    """`path` as a str, or a TypeError: an int would be an open file's number (open(1) is
    standard output), None or a list is a mistake.

    >>> path_argument("weights.json", "save")
    'weights.json'
    """
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if isinstance(path, str):
            if not path:
                raise ValueError(f"{what}: the file name is empty; give a path like weights.json")
            return path
    hint = " (an int is an open file's number, not a name)" if isinstance(path, int) else ""
    raise TypeError(
        f"{what}: the path must be a file name (a str or a pathlib.Path), got "
        f"{type(path).__name__}{hint}"
    )


def write_atomic(path, data, what, make_folders=False):
    """Write the bytes `data` to `path`, whole or not at all; returns `path` as a str.

    A folder at `path` is an IsADirectoryError. With `make_folders`, missing parent folders
    are created. Any OSError names `path`, not the temporary file.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> write_atomic(target, b"hello", "example") == target, open(target).read()
    (True, 'hello')
    """
    target = path_argument(path, what)
    if os.path.isdir(target):
        example = os.path.join(target, "weights.json" if what == "save" else "picture.svg")
        raise IsADirectoryError(f"{what}: {target} is a folder; give a file name, e.g. {example}")
    folder = os.path.dirname(os.path.abspath(target))
    temp = None
    try:
        if make_folders:
            os.makedirs(folder, exist_ok=True)
        temp, fd = _create_temporary(folder, os.path.basename(target))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, target)  # one step: the old file, or the whole new one
    except OSError as error:
        if temp is not None and os.path.lexists(temp):
            os.remove(temp)
        raise _naming(error, target) from None
    return target


def _create_temporary(folder, name):
    """(path, fd) of a new file `.NAME.RANDOM.tmp` in `folder`, created exclusively."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return temp, os.open(temp, flags, 0o666)  # 0o666 less the umask, like open()
        except FileExistsError:
            continue  # someone else's file (or link) by that name: never touch it
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", folder)


def _naming(error, target):
    """The same kind of OSError, naming the user's path and, for a blocked folder, why."""
    reason = error.strerror or str(error)
    blocker = _file_in_the_way(target)
    if blocker is not None:
        reason = f"{blocker} is a file, not a folder"
    failure = type(error)(error.errno, f"cannot write {target}: {reason}")
    failure.filename = target
    return failure


def _file_in_the_way(target):
    """The first folder above `target` that exists but is a file, if any."""
    folder = os.path.dirname(os.path.abspath(target))
    chain = [folder]
    while os.path.dirname(chain[-1]) != chain[-1]:
        chain.append(os.path.dirname(chain[-1]))
    return next((p for p in reversed(chain) if os.path.isfile(p)), None)


def read_limited(path, max_bytes, what, expected="what was asked for"):
    """The bytes of the regular file at `path`, at most `max_bytes` of them (`expected`
    says what they were for, in the message when there are more).

    A folder is an IsADirectoryError; anything else that is not a regular file (a named
    pipe, a device) or a file longer than `max_bytes` is a ValueError, raised before its
    contents are read.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = write_atomic(target, b"hello", "example")
    >>> read_limited(target, 100, "example")
    b'hello'
    """
    target = path_argument(path, what)
    # O_NONBLOCK: opening a named pipe must not wait for a writer (no effect on files)
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), target)
        if not stat.S_ISREG(mode):
            kind = "a named pipe" if stat.S_ISFIFO(mode) else "a device or socket"
            raise ValueError(f"{target} is {kind}, not a regular file; give a file's path")
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise ValueError(_too_big(target, f"{size:,}", max_bytes, expected))
        chunks, total = [], 0
        while total <= max_bytes:  # the file may have grown since: read one byte too many
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise ValueError(_too_big(target, f"over {max_bytes:,}", max_bytes, expected))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_big(target, size, max_bytes, expected):
    return (
        f"{target} is {size} bytes, far more than {expected} could take (at most "
        f"{max_bytes:,} bytes); check the path"
    )
