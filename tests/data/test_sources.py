"""Dataset sources, the IDX reader (real files and corrupted copies), and batching."""

from __future__ import annotations

import gzip
import http.server
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.idx import read_idx, read_idx_pair
from dcgan_lab.data.sources import IdxDataset, Mnist5k, RandomImages, read_digit_csv
from dcgan_lab.errors import UserError

FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(root: Path, n_train: int = 12, n_val: int = 6, side: int = 28) -> None:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_val)):
        images = rng.integers(0, 256, size=(n, side, side))
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        labels = rng.integers(0, 10, size=n)
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))


def test_mnist5k_is_read_as_package_data_with_a_fixed_holdout() -> None:
    splits = Mnist5k(val_fraction=0.1, seed=0).load()
    assert splits.train_images.shape == (4500, 1, 28, 28)
    assert splits.val_images.shape == (500, 1, 28, 28)
    assert splits.train_images.dtype == torch.uint8
    assert int(splits.train_images.max()) == 255
    assert set(splits.val_labels.tolist()) == set(range(10))
    again = Mnist5k(val_fraction=0.1, seed=0).load()
    assert torch.equal(splits.val_images, again.val_images)


@pytest.mark.skipif(not FASHION.is_dir(), reason="needs Debian's dataset-fashion-mnist")
def test_idx_reader_on_the_real_fashion_mnist_files() -> None:
    images, labels = read_idx_pair(
        FASHION / "t10k-images-idx3-ubyte.gz", FASHION / "t10k-labels-idx1-ubyte.gz"
    )
    assert images.shape == (10_000, 28, 28) and labels.shape == (10_000,)
    assert images.dtype == np.uint8 and set(np.unique(labels)) == set(range(10))
    splits = IdxDataset(root=str(FASHION), name="fashion_mnist").load()
    assert splits.train_images.shape == (60_000, 1, 28, 28)
    assert splits.val_images.shape == (10_000, 1, 28, 28)


@pytest.fixture
def good_images(tmp_path: Path) -> Path:
    path = tmp_path / "images.idx"
    path.write_bytes(idx_bytes(np.zeros((3, 28, 28))))
    return path


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda raw: raw[:100], "truncated or corrupt"),
        (lambda raw: raw[:6], "truncated"),
        (lambda raw: b"\x00\x00\x0d\x03" + raw[4:], "bad magic number"),
        (lambda raw: b"\x01\x02\x08\x03" + raw[4:], "bad magic number"),
        (lambda raw: raw[:4] + struct.pack(">I", 4) + raw[8:], "needs"),
        (lambda raw: raw + b"\x00" * 10, "truncated or corrupt"),
    ],
)
def test_idx_reader_rejects_corrupted_copies(good_images: Path, corrupt, message: str) -> None:
    good_images.write_bytes(corrupt(good_images.read_bytes()))
    with pytest.raises(UserError, match=message):
        read_idx(good_images, ndim=3)


def test_idx_reader_rejects_bad_gzip_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "x-images-idx3-ubyte.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(UserError, match="cannot read"):
        read_idx(broken, ndim=3)
    with pytest.raises(UserError, match="missing data file"):
        read_idx(tmp_path / "nope.gz", ndim=3)


def test_idx_pair_checks_counts_and_keeps_the_files_size(tmp_path: Path) -> None:
    images, labels = tmp_path / "i", tmp_path / "l"
    images.write_bytes(idx_bytes(np.zeros((3, 28, 28))))
    labels.write_bytes(idx_bytes(np.zeros(4)))
    with pytest.raises(UserError, match=r"3 images but .* 4 labels"):
        read_idx_pair(images, labels)
    images.write_bytes(idx_bytes(np.zeros((4, 32, 32))))
    assert read_idx_pair(images, labels)[0].shape == (4, 32, 32)  # the datamodule resizes


def test_idx_dataset_reads_a_directory_and_reports_missing_files(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "set")
    splits = IdxDataset(root=str(tmp_path / "set")).load()
    assert splits.train_images.shape == (12, 1, 28, 28)
    assert splits.val_labels.shape == (6,)
    (tmp_path / "set" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UserError, match=r"put t10k-labels-idx1-ubyte\.gz in"):
        IdxDataset(root=str(tmp_path / "set")).load()


@pytest.fixture
def local_mirror(tmp_path: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving a small IDX set, standing in for a public mirror."""
    write_idx_set(tmp_path / "mirror")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path / "mirror"), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_missing_idx_files_are_downloaded_from_the_first_working_mirror(
    tmp_path: Path, local_mirror: str
) -> None:
    dead = "http://127.0.0.1:9"  # discard port: connection refused at once
    source = IdxDataset(root=str(tmp_path / "mnist"), mirrors=[dead, local_mirror])
    splits = source.load()
    assert splits.train_images.shape == (12, 1, 28, 28)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(
        f"{pre}-{kind}-idx{n}-ubyte.gz"
        for pre in ("train", "t10k")
        for kind, n in (("images", 3), ("labels", 1))
    )


def test_offline_download_fails_at_once_saying_where_to_put_the_files(tmp_path: Path) -> None:
    source = IdxDataset(root=str(tmp_path / "mnist"), mirrors=["http://127.0.0.1:9"])
    with pytest.raises(UserError, match=r"cannot download mnist .*offline\? put .* in "):
        source.load()
    assert list((tmp_path / "mnist").iterdir()) == []  # no half-written file left


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "rows of S\\*S pixels"),
        ("1,2,x\n", "numeric CSV"),
        ("1,2,3\n", r"rows of S\*S pixels .* not 3 values"),
        ("300,0,0,0,1\n", "outside 0..255"),
    ],
)
def test_digit_csv_rejects_empty_and_malformed_files(tmp_path: Path, content, message) -> None:
    path = tmp_path / "digits.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_digit_csv(path)


def test_digit_csv_rows_of_any_square_size(tmp_path: Path) -> None:
    path = tmp_path / "digits.csv"
    path.write_text("0,0,0,255,3\n10,20,30,40,7\n")  # 2x2 images
    images, labels = read_digit_csv(path)
    assert images.shape == (2, 2, 2) and labels.tolist() == [3, 7]


def test_datamodule_serves_shuffled_full_batches_scaled_to_signed_unit() -> None:
    dm = ImageDataModule(RandomImages(n_train=100, n_val=30), batch_size=32, val_batch_size=16)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 3  # drop_last: 100 // 32
    images, labels = dm.on_after_batch_transfer(batches[0], 0)
    assert images.shape == (32, 1, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) == -1.0 and float(images.max()) == 1.0
    assert labels.shape == (32,)
    assert sum(len(b[0]) for b in dm.val_dataloader()) == 30


def test_datamodule_rejects_batches_larger_than_the_dataset() -> None:
    with pytest.raises(UserError, match=r"lower data\.batch_size"):
        ImageDataModule(RandomImages(n_train=10, n_val=5), batch_size=64).setup("fit")
