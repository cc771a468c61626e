"""Files written whole or not at all, and the temporary files that makes.

Every file wavesparse writes (checkpoints, JSON reports, plots) goes to a
fresh temporary file beside the target, made with ``O_EXCL`` (so a symlink
planted there is never followed), and is renamed over the target only when
complete.  Errors, Ctrl-C and SIGTERM (the command line turns it into an
exception) remove the temporary file.

Only SIGKILL or a power cut leaves one behind.  The names say whose it is:
``.wavesparse-<host>-<pid>-<random>.tmp<suffix>``, where ``<host>`` is a short
hash of the machine's name.  A temporary file of this machine whose process no
longer runs is stale: :func:`remove_stale` deletes those of a folder, and every
write of a checkpoint does so in its folder (``wavesparse clean DIR`` on the
command line).  The name is short whatever the target's, so targets of up to
255 bytes work.

Examples
--------
>>> import os, tempfile
>>> from wavesparse._files import replacing
>>> folder = tempfile.mkdtemp()
>>> with replacing(os.path.join(folder, "a.txt")) as tmp:
...     with open(tmp, "w") as f:
...         _ = f.write("done")
>>> os.listdir(folder)
['a.txt']
"""

import contextlib
import json
import os
import re
import socket
import tempfile
import zlib

__all__ = ["replacing", "stale_temporaries", "remove_stale", "PREFIX"]

PREFIX = ".wavesparse-"
_NAME = re.compile(r"^\.wavesparse-([0-9a-f]{8})-(\d+)-[A-Za-z0-9_]+\.tmp(\.[A-Za-z0-9]+)?$")


def _host():
    return "%08x" % (zlib.crc32(socket.gethostname().encode()) & 0xFFFFFFFF)


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def stale_temporaries(folder):
    """The temporary files in ``folder`` left by dead wavesparse processes of
    this machine (full paths, sorted).

    Examples
    --------
    >>> import tempfile
    >>> from wavesparse._files import stale_temporaries
    >>> stale_temporaries(tempfile.mkdtemp())
    []
    """
    host = _host()
    stale = []
    for name in sorted(os.listdir(folder)):
        match = _NAME.match(name)
        if match and match.group(1) == host and not _running(int(match.group(2))):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                stale.append(path)
    return stale


def remove_stale(folder):
    """Delete :func:`stale_temporaries` of ``folder``; returns what was removed.

    Examples
    --------
    >>> import tempfile
    >>> from wavesparse._files import remove_stale
    >>> remove_stale(tempfile.mkdtemp())
    []
    """
    removed = []
    for path in stale_temporaries(folder):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
            removed.append(path)
    return removed


@contextlib.contextmanager
def replacing(path):
    """Yield a new temporary path beside ``path``; rename it over ``path`` on
    success, remove it on any exception (KeyboardInterrupt included).

    The temporary file exists (empty, mode 0600) when the block starts; it
    keeps ``path``'s suffix, and gets the permissions a new file would have.
    OS errors name ``path``, never the temporary name.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    if not re.fullmatch(r"(\.[A-Za-z0-9]+)?", suffix):
        suffix = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix="%s%s-%d-" % (PREFIX, _host(), os.getpid()),
                                   suffix=".tmp" + suffix, dir=folder)
    except OSError as exc:
        raise OSError(exc.errno, "cannot write %s: %s" % (path, exc.strerror)) from None
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if exc.filename == tmp or exc.filename2 == path:
            raise OSError(exc.errno, "cannot write %s: %s" % (path, exc.strerror)) from None
        raise
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def write_json(path, payload, sort_keys=False):
    """``payload`` as indented JSON in ``path``, through :func:`replacing`."""
    text = json.dumps(payload, indent=2, sort_keys=sort_keys)
    with replacing(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text + "\n")


def read_json(path, from_dict):
    """``from_dict(payload)`` of the JSON file ``path``; ValueError naming the
    file (one line) for what is not JSON or what ``from_dict`` refuses."""
    with open(path) as f:
        try:
            payload = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError("%s is not JSON: %s" % (path, exc)) from None
    try:
        return from_dict(payload)
    except ValueError as exc:
        raise ValueError("%s: %s" % (path, exc)) from None
