"""What the opener checks before it reads a byte of a ring file, by the rules
of Go's package ring (LAYOUT.md sections 1 and 6): the name, then what sits
there.

/dev/shm is world-writable and sticky: another local user can plant a file,
or a symbolic link, under the name a victim will open, and the victim would
then write its messages into the planter's file or read forged ones. Every
check is made on the opened descriptor, never on the path, so what was
checked is what is mapped."""

import fcntl
import os
import posixpath
import stat

from . import _args, _sys
from .errors import FileTooBigError, ForeignOwnerError, InsecureModeError, InvalidError, NotRegularError, UnsealedError

SHM_DIR = "/dev/shm"
MAX_NAME_LEN = 255  # NAME_MAX: one directory entry
DEFAULT_MAX_FILE_SIZE = 64 << 30  # as Go's ring.DefaultMaxFileSize


def resolve(name):
    """The file a ring name names. A bare name (no '/') is /dev/shm/<name> and
    can never reach outside it; anything else must be an absolute path,
    cleaned as Go's filepath.Clean does. A relative path ("../x", "./x",
    "a/b") would name a different file in each working directory: it is
    invalid, as are "", ".", "..", a bare name over 255 bytes and a NUL."""
    if not isinstance(name, str):
        raise TypeError(f"a ring name is a str, not {type(name).__name__}")
    if name == "":
        raise InvalidError(f"ring: invalid ring name {name!r}")
    if "\x00" in name:
        raise InvalidError(f"ring: name={name!r} contains a NUL byte")
    if name.startswith("/"):
        path = posixpath.normpath(name)
        return "/" + path.lstrip("/")  # normpath keeps a leading "//"; Clean does not
    if "/" in name:
        raise InvalidError(f"ring: name={name!r}: a name with a slash must be an absolute path")
    if name in (".", ".."):
        raise InvalidError(f"ring: name={name!r} is a directory, not a ring")
    n = len(os.fsencode(name))
    if n > MAX_NAME_LEN:
        raise InvalidError(f"ring: name of {n} bytes, want at most {MAX_NAME_LEN}")
    return SHM_DIR + "/" + name


def _file_type(mode):
    for test, what in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "device"),
        (stat.S_ISBLK, "device"),
        (stat.S_ISLNK, "symbolic link"),
    ):
        if test(mode):
            return what
    return "file of an unknown type"


def check(fd, what, trust_uids=(), trust_gids=(), allow_world_write=False, max_file_size=None, check_mode=True):
    """Refuse, each with its own error, a file that is not regular
    (NotRegularError), whose owner is neither the effective uid nor in
    trust_uids (ForeignOwnerError), that users not trusted may write
    (InsecureModeError: world-writable without allow_world_write,
    group-writable by a group not in trust_gids), or that is larger than
    max_file_size (FileTooBigError). The mode is checked only when
    check_mode (not for a memfd handed over: no name, so no mode guards
    it; check_sealed does). Returns the cap."""
    cap = _args.max_file_size(max_file_size, DEFAULT_MAX_FILE_SIZE)
    trust_uids, trust_gids = _args.ids(trust_uids, "trust_uids"), _args.ids(trust_gids, "trust_gids")
    _args.flag(allow_world_write, "allow_world_write")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularError(f"ring: not a regular file: ring={what} is a {_file_type(st.st_mode)}")
    euid = os.geteuid()
    if st.st_uid != euid and st.st_uid not in trust_uids:
        raise ForeignOwnerError(
            f"ring: file owned by an untrusted user: ring={what} owner uid={st.st_uid}, "
            f"trusted uid={euid} and trust_uids={list(trust_uids)}"
        )
    perm = st.st_mode & 0o777
    if check_mode and not allow_world_write:
        if perm & stat.S_IWOTH:
            raise InsecureModeError(
                f"ring: file writable by untrusted users: ring={what} mode={perm:#o} is world-writable "
                "and allow_world_write is False"
            )
        if perm & stat.S_IWGRP and st.st_gid not in trust_gids:
            raise InsecureModeError(
                f"ring: file writable by untrusted users: ring={what} mode={perm:#o} is writable by group "
                f"gid={st.st_gid}, not in trust_gids={list(trust_gids)}"
            )
    if st.st_size > cap:
        raise FileTooBigError(f"ring: file too big to open: ring={what} file size={st.st_size}, max_file_size={cap}")
    return cap


def is_memfd(fd, what):
    """The kernel names a memfd's descriptor "/memfd:<label> (deleted)" in
    /proc/self/fd, as Go's ring.OpenFile reads it. A file at a path of that
    form would be taken for a memfd and refused: it cannot carry seals."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:")
    except OSError as e:  # not told: taken for a named file, an unsealed memfd would pass
        _sys.no_proc(e, f"descriptor {what}")
        raise


def check_sealed(fd, what):
    """A memfd has no name, so no owner or mode guards it: any holder of a
    descriptor could shrink it under the mapping (a SIGBUS that kills the
    interpreter) unless it is sealed against shrinking (LAYOUT.md section 6)."""
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError as e:
        raise UnsealedError(f"ring: memfd not sealed against shrinking: ring={what}: F_GET_SEALS: {e.strerror}") from None
    if not seals & fcntl.F_SEAL_SHRINK:
        raise UnsealedError(
            f"ring: memfd not sealed against shrinking: ring={what} seals={seals:#x}, without F_SEAL_SHRINK "
            f"({fcntl.F_SEAL_SHRINK:#x}): any holder could shrink it under the mapping"
        )
