"""data=cifar10: a CIFAR-format tarball of a few images made here."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dcgan_lab.data.cifar10 import ARCHIVE, Cifar10
from dcgan_lab.errors import UserError


def batch_bytes(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    batch = {
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),  # (N, 3*32*32), planes
        b"labels": rng.integers(0, 10, size=n).tolist(),
    }
    return pickle.dumps(batch, protocol=2)


def write_tarball(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def cifar_members() -> dict[str, bytes]:
    members = {f"data_batch_{i}": batch_bytes(3, i) for i in range(1, 6)}
    members["test_batch"] = batch_bytes(2, 99)
    return members


def test_reads_the_python_tarball(tmp_path: Path) -> None:
    members = cifar_members()
    write_tarball(tmp_path / ARCHIVE, members)
    splits = Cifar10(root=str(tmp_path)).load()
    assert splits.train_images.shape == (15, 3, 32, 32)
    assert splits.val_images.shape == (2, 3, 32, 32)
    first = pickle.loads(members["data_batch_1"])
    # Row-major planes: the first 1024 values are the red plane of image 0.
    assert np.array_equal(splits.train_images[0, 0].numpy().ravel(), first[b"data"][0, :1024])
    assert splits.train_labels[:3].tolist() == first[b"labels"]


def test_offline_without_the_file_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=f"CIFAR-10 not found: put {ARCHIVE} in "):
        Cifar10(root=str(tmp_path)).load()
    dead = Cifar10(root=str(tmp_path / "c"), mirrors=["http://127.0.0.1:9"])
    with pytest.raises(UserError, match=f"cannot download CIFAR-10 .*offline\\? put {ARCHIVE}"):
        dead.load()


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"test_batch": batch_bytes(2, 0)}, "has no data_batch_1"),
        ({**cifar_members(), "test_batch": pickle.dumps({b"data": Exploit()})}, "not allowed"),
        ({**cifar_members(), "test_batch": pickle.dumps({b"labels": []})}, "not a CIFAR-10 batch"),
    ],
)
def test_bad_tarballs_fail_in_one_line_without_running_code(
    tmp_path: Path, members, message: str, capsys
) -> None:
    write_tarball(tmp_path / ARCHIVE, members)
    with pytest.raises(UserError, match=message):
        Cifar10(root=str(tmp_path)).load()
    assert "pwned" not in capsys.readouterr().out


def test_a_file_that_is_no_tarball_is_refused(tmp_path: Path) -> None:
    (tmp_path / ARCHIVE).write_bytes(b"garbage")
    with pytest.raises(UserError, match="replace it with a good copy"):
        Cifar10(root=str(tmp_path)).load()
