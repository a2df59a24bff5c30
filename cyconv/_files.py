"""Writing a file all or nothing, onto regular files only, keeping what the user had.

Every file cyconv writes (checkpoints, exports, the dataset cache) goes through
``PendingFile``: the data is written to a temporary file in the target's folder (so the final
rename cannot cross file systems), flushed and fsynced, then ``os.replace`` puts it in place.
Around that rename it guards what a plain ``os.replace`` would destroy:

- a target that is not a regular file (a device such as /dev/null, a FIFO, a socket, a
  folder) is refused: renaming over it would turn the device node into an ordinary file;
- a symlink is followed: the file it points to is replaced and the link stays a link;
- a file the user may not write (read-only) is refused, as ``cp`` would refuse it;
- the old file's permission bits (and, where the OS allows, its owner) are kept; a new file
  gets 0644 less the umask, as ``open()`` would give it;
- temporaries are named ``.NAME.cyconv-tmp-PID-XXXXXXXX`` so they can be recognised: one left
  behind by a process that was killed is removed by the next write into the same folder, and
  any exception (Ctrl-C included) removes the temporary of the write it interrupted.

``check_output_path`` runs the same checks up front, so a command can refuse a bad ``--out``
before it spends an hour training.
"""
import errno
import os
import re
import secrets
import stat

__all__ = ["atomic_write", "check_output_path", "PendingFile", "TEMPORARY_MARK"]

TEMPORARY_MARK = ".cyconv-tmp-"
_TEMPORARY = re.compile(r"^\..*\.cyconv-tmp-(\d+)-[0-9a-f]{8}$", re.DOTALL)
# Leaves room for the mark, the pid and the token within the usual 255-byte name limit.
_MAX_STEM = 200
_NEW_FILE_MODE = 0o644

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode):
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _existing_target(path):
    """(the real file a write to ``path`` lands on, its stat or None when it does not exist)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"output path must be a file path, got {type(path).__name__}")
    path = os.fsdecode(path)
    target = os.path.realpath(path)
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return target, None
    except OSError as error:  # a symlink loop, a component that is a file, no permission
        raise ValueError(f"{path}: cannot be written ({error.strerror})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{path}: is {_kind(status.st_mode)}, not a regular file; cyconv writes "
                         "only regular files, choose another path")
    return target, status


def check_output_path(path):
    """Raise ValueError (one line) unless a file can be written at ``path``.

    Refused: a missing or unwritable folder, an existing target that is not a regular file
    (device, FIFO, socket, folder) or that is read-only. Symlinks are followed, as the write
    will follow them. Returns None.
    """
    target, status = _existing_target(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ValueError(f"{os.fsdecode(path)}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{os.fsdecode(path)}: the folder {folder} is not writable")
    if status is not None and not os.access(target, os.W_OK):
        raise ValueError(f"{os.fsdecode(path)}: the file is read-only")


def _is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it belongs to someone else
        return True
    return True


def remove_stale_temporaries(folder):
    """Delete the cyconv temporaries in ``folder`` whose writing process no longer exists."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or int(match[1]) == os.getpid() or _is_alive(int(match[1])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:  # gone already, or not ours to remove
            pass


def _fsync_directory(directory):
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_owner_and_mode(fd, status):
    os.fchmod(fd, stat.S_IMODE(status.st_mode))
    if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
        try:  # only root may give a file away; for everyone else the new file is theirs
            os.fchown(fd, status.st_uid, status.st_gid)
        except OSError:
            pass


class PendingFile:
    """A temporary file beside ``path`` (``.file``, open for binary writing).

    ``commit()`` renames it over the target; ``discard()`` deletes it. Creating it refuses a
    target that is not a regular file (ValueError) or is read-only (PermissionError), and
    raises FileNotFoundError when the folder is missing.
    """

    def __init__(self, path):
        self.path = os.fsdecode(path)
        self.target, status = _existing_target(path)
        self.folder = os.path.dirname(self.target)
        if not os.path.isdir(self.folder):
            raise FileNotFoundError(f"{self.path}: the folder {self.folder} does not exist")
        if status is not None and not os.access(self.target, os.W_OK):
            raise PermissionError(errno.EACCES, f"{self.path}: the file is read-only")
        remove_stale_temporaries(self.folder)
        stem = os.path.basename(self.target)[:_MAX_STEM]
        name = f".{stem}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(4)}"
        self.temporary = os.path.join(self.folder, name)
        mode = stat.S_IMODE(status.st_mode) if status is not None else _NEW_FILE_MODE
        try:
            # O_EXCL: never write into a file someone else made; O_NOFOLLOW: nor through a link.
            fd = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        except OSError as error:
            raise type(error)(error.errno, f"{self.path}: cannot write in {self.folder} "
                                           f"({error.strerror})") from None
        try:
            if status is not None:
                _keep_owner_and_mode(fd, status)
            self.file = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            os.unlink(self.temporary)
            raise

    def commit(self):
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temporary, self.target)
        _fsync_directory(self.folder)

    def discard(self):
        self.file.close()
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass


def atomic_write(path, write):
    """Create or replace ``path`` with what ``write(binary_file)`` writes, all or nothing.

    See the module docstring for what is guarded. On any error, including KeyboardInterrupt,
    the temporary file is removed and ``path`` is untouched.
    """
    pending = PendingFile(path)
    try:
        write(pending.file)
        pending.commit()
    except BaseException:
        pending.discard()
        raise
