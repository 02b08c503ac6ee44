"""The mnist5k extractor, trained once for the metric tests."""

from __future__ import annotations

import pytest

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import Mnist5k
from dcgan_lab.metrics.extractor import load_or_train

STEPS = 200  # ~97% held-out accuracy on mnist5k in about 15 s on 2 cores


@pytest.fixture(scope="session")
def mnist5k(tmp_path_factory: pytest.TempPathFactory):
    data = ImageDataModule(Mnist5k(), name="mnist5k")
    cache = tmp_path_factory.mktemp("cache")
    classifier, info = load_or_train("mnist5k", data.loaded(), cache, STEPS)
    return data, classifier, info, cache
