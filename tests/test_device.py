"""--device, the device-resident data path, and the model registry. GPU tests run where CUDA exists."""

import logging

import pytest
import torch

from lrfp.cli import main
from lrfp.core.device import resolve_device
from lrfp.core.errors import ConfigError
from lrfp.data.images import FaceDataset, preset_transform, split_samples
from lrfp.pipeline.inference import Classifier
from lrfp.publishing.families import PUBLISHED_FAMILIES
from lrfp.reporting.results import _paper_variant
from lrfp.training.config import TrainConfig
from lrfp.training.device_data import DeviceBatches, augment
from lrfp.training.run import fit

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")


def config(data, out, **kw):
    base = dict(
        model="model3",
        data=str(data),
        input_size=32,
        epochs=1,
        milestones=(1,),
        precision="fp32",
        batch_size=16,
        out=str(out),
    )
    return TrainConfig(**(base | kw))


def test_auto_is_the_cpu_without_a_gpu_and_cuda_without_one_is_an_error():
    assert resolve_device("auto") == ("cuda" if CUDA else "cpu")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="device must be one of"):
        resolve_device("tpu")
    if not CUDA:
        with pytest.raises(ConfigError, match="sees no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(CUDA, reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--model", "model3", "--data", "DATA", "--device", "cuda"],
        ["predict", "--model", "model3", "--device", "cuda", "x.png"],
    ],
)
def test_the_cli_refuses_cuda_without_a_gpu_in_one_line(argv, tiny_dataset, capsys):
    argv = [str(tiny_dataset) if a == "DATA" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrfp: error:") and "no CUDA GPU" in err and "Traceback" not in err


def test_a_cpu_run_records_its_device_and_data_path(tiny_dataset, tmp_path):
    record = fit(config(tiny_dataset, tmp_path, device="cpu"))
    assert record["config"]["device"] == "cpu"
    assert record["environment"]["device"] == "cpu" and record["environment"]["data_path"] == "loader"


def test_device_batches_cover_the_set_once_per_epoch_in_the_generators_order(tiny_dataset):
    samples, classes = split_samples(tiny_dataset, "train")
    dataset = FaceDataset(tiny_dataset, samples, classes, preset_transform(32))
    first = DeviceBatches(dataset, 32, 16, torch.Generator().manual_seed(1), "cpu")
    second = DeviceBatches(dataset, 32, 16, torch.Generator().manual_seed(1), "cpu")
    batches = list(first)
    assert len(batches) == len(first) == -(-len(dataset) // 16)
    targets = torch.cat([t for _, t in batches])
    assert sorted(targets.tolist()) == sorted(dataset.targets)
    assert torch.equal(targets, torch.cat([t for _, t in second]))
    x = batches[0][0]
    assert x.shape[1:] == (3, 32, 32) and x.dtype == torch.float32
    assert -3 < x.mean() < 3, "normalized with the ImageNet statistics"


def test_augment_flips_and_rotates_but_keeps_the_picture():
    x = torch.zeros(64, 3, 16, 16)
    x[..., :8] = 1.0  # left half white
    torch.manual_seed(0)
    y = augment(x)
    left = y[..., :8].mean(dim=(1, 2, 3))
    flipped = left < 0.5
    assert 10 < flipped.sum() < 54, "about half the batch is mirrored"
    assert not torch.equal(y[~flipped], x[~flipped]), "and each image is rotated a little"
    assert ((y[~flipped][..., :8].mean(dim=(1, 2, 3))) > 0.8).all()


def test_the_rest_asks_the_registry():
    """Its facts as the training config, publishing and the results tables use them (the registry itself
    is checked against the paper's tables in test_reproduce)."""
    assert PUBLISHED_FAMILIES == ("model1", "model2", "model3", "mobilenet_v2")
    assert TrainConfig(model="model3", data="x").resolved().optimizer == "adam"
    assert TrainConfig(model="model1", data="x").resolved().optimizer == "sgd"
    assert _paper_variant("vgg16", "none") == "imagenet" and _paper_variant("model1", "groupnorm") == "groupnorm"
    assert _paper_variant("model3", "-") == "-"


@needs_cuda
@pytest.mark.gpu
def test_a_paper_run_on_the_gpu_keeps_its_data_on_the_device_and_resumes(tiny_dataset, tmp_path, caplog):
    record = fit(config(tiny_dataset, tmp_path, device="cuda", epochs=2, milestones=(1, 2)))
    assert record["environment"]["device"] == "cuda" and record["environment"]["data_path"] == "device"
    assert record["environment"]["cuda"]
    state = torch.load(tmp_path / record["run_id"] / "last.pt", weights_only=True)
    assert state["rng"]["cuda"] is not None
    caplog.clear()  # the first run may have logged its epochs (after a CLI test made lrfp's messages INFO)
    with caplog.at_level(logging.INFO, logger="lrfp"):
        fit(config(tiny_dataset, tmp_path, device="cuda", epochs=3, milestones=(1, 3)))
    assert caplog.messages[0].endswith("after epoch 2")


@needs_cuda
@pytest.mark.gpu
def test_gpu_and_cpu_classifiers_agree():
    from PIL import Image

    faces = [Image.new("RGB", (40, 48), (200, 150, 120)), Image.new("RGB", (20, 20), (30, 60, 200))]
    cpu = Classifier("model3", backend="torch", device="cpu").probabilities(faces)
    gpu = Classifier("model3", device="cuda").probabilities(faces)
    assert torch.allclose(cpu, gpu, atol=1e-3)
