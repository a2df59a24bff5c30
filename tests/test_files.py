"""The one atomic write: regular files only, symlinks followed, modes kept, no temporaries left."""
import os
import stat
import subprocess
import sys

import pytest

from cyconv import io
from cyconv._files import TEMPORARY_MARK, PendingFile, atomic_write, check_output_path


def _write(data):
    return lambda handle: handle.write(data)


def _temporaries(folder):
    return [name for name in os.listdir(folder) if TEMPORARY_MARK in name]


def test_io_keeps_exporting_the_same_helper():
    assert io.atomic_write is atomic_write


def test_a_new_file_gets_0644_less_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.bin", _write(b"abc"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == 0o640
    assert (tmp_path / "new.bin").read_bytes() == b"abc"


@pytest.mark.parametrize("mode", [0o600, 0o664, 0o640, 0o755])
def test_replacing_keeps_the_old_permission_bits(tmp_path, mode):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    path.chmod(mode)
    atomic_write(path, _write(b"new"))
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert path.read_bytes() == b"new"


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "real.npz"
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    atomic_write(link, _write(b"new"))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "later.npz")
    atomic_write(link, _write(b"made"))
    assert link.is_symlink() and (tmp_path / "later.npz").read_bytes() == b"made"


def _fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _socket(tmp_path):
    import socket
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def _folder(tmp_path):
    (tmp_path / "folder").mkdir()
    return tmp_path / "folder"


def _link_to_fifo(tmp_path):
    link = tmp_path / "out.npz"
    link.symlink_to(_fifo(tmp_path))
    return link


@pytest.mark.parametrize("make, kind", [
    (_fifo, "a FIFO"), (_socket, "a socket"), (_folder, "a folder"),
    (lambda _: "/dev/null", "a character device"), (_link_to_fifo, "a FIFO"),
], ids=["fifo", "socket", "folder", "dev-null", "link-to-fifo"])
def test_targets_that_are_not_regular_files_are_refused_and_left_alone(tmp_path, make, kind):
    target = make(tmp_path)
    before = os.stat(target)
    with pytest.raises(ValueError, match=rf"is {kind}.*not a regular file"):
        atomic_write(target, _write(b"x"))
    with pytest.raises(ValueError, match=rf"is {kind}.*not a regular file"):
        check_output_path(target)
    after = os.stat(target)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
    assert after.st_ino == before.st_ino
    assert _temporaries(os.path.dirname(os.path.realpath(target))) == []


def test_a_write_that_raises_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")

    def fail(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["m.bin"]


def test_temporaries_are_named_after_the_target_and_this_process(tmp_path):
    seen = []
    atomic_write(tmp_path / "m.bin", lambda handle: seen.extend(_temporaries(tmp_path)))
    assert len(seen) == 1
    assert seen[0].startswith(f".m.bin{TEMPORARY_MARK}{os.getpid()}-")


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_stale_temporaries_of_dead_processes_are_removed_by_the_next_write(tmp_path):
    dead = tmp_path / f".m.bin{TEMPORARY_MARK}{_dead_pid()}-0123abcd"
    dead.write_bytes(b"x" * 1000)
    alive = tmp_path / f".m.bin{TEMPORARY_MARK}{os.getppid()}-89abcdef"
    alive.write_bytes(b"still being written")
    look_alike = tmp_path / ".m.bin.cyconv-tmp-notapid-0123abcd"
    look_alike.write_bytes(b"not ours")
    atomic_write(tmp_path / "other.bin", _write(b"new"))
    assert not dead.exists()
    assert alive.exists() and look_alike.exists()


def test_a_killed_writer_leaves_a_temporary_that_the_next_write_clears(tmp_path):
    script = ("import os, sys\n"
              "from cyconv._files import atomic_write\n"
              "atomic_write(sys.argv[1], lambda f: (f.write(b'x' * 4096), f.flush(), os._exit(9)))\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.npz")])
    assert done.returncode == 9
    assert len(_temporaries(tmp_path)) == 1
    atomic_write(tmp_path / "m.npz", _write(b"done"))
    assert os.listdir(tmp_path) == ["m.npz"]


def test_a_missing_folder_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "nope" / "m.bin", _write(b"x"))


def test_check_output_path_accepts_new_and_existing_regular_files(tmp_path):
    assert check_output_path(tmp_path / "new.npz") is None
    (tmp_path / "old.npz").write_bytes(b"x")
    assert check_output_path(tmp_path / "old.npz") is None


def test_check_output_path_names_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"m\.npz: the folder .*nope does not exist"):
        check_output_path(tmp_path / "nope" / "m.npz")


def test_check_output_path_names_a_folder_it_cannot_write(tmp_path, monkeypatch):
    # root may write anywhere, so the permission answer is simulated
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path)
                        else real_access(p, mode))
    with pytest.raises(ValueError, match="is not writable"):
        check_output_path(tmp_path / "m.npz")


def test_check_output_path_refuses_a_read_only_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    path.write_bytes(b"x")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(path)
                        else real_access(p, mode))
    with pytest.raises(ValueError, match="m.npz: the file is read-only"):
        check_output_path(path)


def test_atomic_write_refuses_a_read_only_file_too(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    path.write_bytes(b"protected")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(path)
                        else real_access(p, mode))
    with pytest.raises(PermissionError, match="m.npz: the file is read-only"):
        atomic_write(path, _write(b"x"))
    assert path.read_bytes() == b"protected" and os.listdir(tmp_path) == ["m.npz"]


def test_a_symlink_loop_is_one_clear_error(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match="loop: cannot be written"):
        check_output_path(loop)


def test_check_output_path_rejects_non_paths():
    with pytest.raises(TypeError, match="must be a file path"):
        check_output_path(3)


def test_pending_file_discard_removes_the_temporary(tmp_path):
    pending = PendingFile(tmp_path / "m.bin")
    pending.file.write(b"abc")
    pending.discard()
    assert os.listdir(tmp_path) == []


def test_the_dataset_cache_uses_the_same_write(tmp_path, monkeypatch):
    from cyconv.data import sources
    seen = []
    real = sources.PendingFile

    def spy(path):
        seen.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(sources, "PendingFile", spy)
    with sources.Staging() as stage:
        stage.new(tmp_path / "cache" / "f.gz").write(b"payload")
        stage.commit()
    assert seen == [str(tmp_path / "cache" / "f.gz")]
    assert (tmp_path / "cache" / "f.gz").read_bytes() == b"payload"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_root_replacing_a_users_file_keeps_its_owner(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chown(path, 65534, 65534)
    atomic_write(path, _write(b"new"))
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (65534, 65534)


def test_a_long_file_name_still_gets_a_temporary_within_the_name_limit(tmp_path):
    path = tmp_path / ("m" * 250 + ".npz")
    seen = []
    atomic_write(path, lambda handle: seen.extend(_temporaries(tmp_path)))
    assert len(seen) == 1 and len(seen[0]) <= 255
    assert path.exists() and _temporaries(tmp_path) == []
