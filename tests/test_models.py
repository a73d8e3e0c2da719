import pytest
import torch

from lrfp.models.paper_cnn import WSConv2d
from lrfp.models.registry import (
    NORMS,
    UnknownModelError,
    WeightsUnavailableError,
    create_model,
    min_input_size,
    spec,
)

PAPER_CASES = [("model1", n) for n in NORMS] + [("model2", n) for n in NORMS] + [("model3", None)]


@pytest.mark.parametrize("size", [16, 32, 64, 224])
@pytest.mark.parametrize("name,norm", PAPER_CASES)
def test_paper_models_give_two_logits_at_every_size(name, norm, size):
    model = create_model(name, norm=norm).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 2)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("size", ["min", 64, 224])
@pytest.mark.parametrize("name", ["vgg16", "resnet18", "alexnet", "mobilenet_v2"])
def test_transfer_models_give_two_logits(name, size):
    size = min_input_size(name) if size == "min" else size
    model = create_model(name, pretrained="none").eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, size, size)).shape == (1, 2)


def test_input_sizes_below_a_models_minimum_are_refused(tiny_dataset):
    from lrfp.training.config import TrainConfig

    TrainConfig(model="vgg16", data=str(tiny_dataset), input_size=32).resolved()
    with pytest.raises(ValueError, match="alexnet needs an input size from 64 to 512 px"):
        TrainConfig(model="alexnet", data=str(tiny_dataset), input_size=32).resolved()


def test_num_classes_sets_the_last_layer():
    assert create_model("model3", num_classes=3).eval()(torch.randn(1, 3, 64, 64)).shape == (1, 3)
    assert create_model("resnet18", num_classes=3).eval()(torch.randn(1, 3, 64, 64)).shape == (1, 3)


def test_norm_variants_use_the_right_layers():
    bn = create_model("model1", norm="batchnorm")
    gn = create_model("model1", norm="groupnorm")
    ws = create_model("model2", norm="groupnorm_ws")
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in bn.modules()) == 1
    assert sum(isinstance(m, torch.nn.GroupNorm) for m in gn.modules()) == 1
    assert not any(isinstance(m, WSConv2d) for m in gn.modules())
    assert sum(isinstance(m, torch.nn.GroupNorm) for m in ws.modules()) == 2
    convs = [m for m in ws.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5 and all(isinstance(m, WSConv2d) for m in convs)


def test_layer_counts_follow_the_paper_tables():
    for name, convs, fcs in (("model1", 3, 2), ("model2", 5, 2), ("model3", 3, 3)):
        model = create_model(name, norm=spec(name).norms[0] if spec(name).norms else None)
        assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == convs
        assert sum(isinstance(m, torch.nn.Linear) for m in model.modules()) == fcs
        assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == convs
    kernels = [k for _, k, _ in spec("model3").architecture.convs]
    assert kernels == [3, 2, 2]


def test_weight_standardization_standardizes_each_filter():
    conv = WSConv2d(3, 8, 3)
    with torch.no_grad():
        conv.weight.mul_(5).add_(3)
    w = conv.standardized_weight()
    assert torch.allclose(w.mean(dim=(1, 2, 3)), torch.zeros(8), atol=1e-5)
    assert torch.allclose(w.var(dim=(1, 2, 3), unbiased=False), torch.ones(8), atol=1e-3)
    x = torch.randn(1, 3, 8, 8)
    expected = torch.nn.functional.conv2d(x, w, conv.bias)
    assert torch.allclose(conv(x), expected, atol=1e-5)
    # standardization makes the output blind to the scale and offset of the raw weight
    with torch.no_grad():
        conv.weight.mul_(10).add_(-2)
    assert torch.allclose(conv(x), expected, atol=1e-3)


def test_unknown_model_lists_the_known_names():
    with pytest.raises(UnknownModelError) as err:
        create_model("resnet50")
    for name in ("model1", "model2", "model3", "vgg16", "resnet18", "alexnet", "mobilenet_v2"):  # the paper's and ours
        assert name in str(err.value)


def test_bad_norm_is_refused():
    with pytest.raises(ValueError, match="norm"):
        create_model("model1", norm="layernorm")
    with pytest.raises(ValueError, match="model3"):
        create_model("model3", norm="batchnorm")


def test_missing_imagenet_weights_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    # no network here, and the download is refused outright so the test is the same everywhere
    import torch.hub

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    with pytest.raises(WeightsUnavailableError) as err:
        create_model("alexnet", pretrained="imagenet")
    message = str(err.value)
    assert str(tmp_path) in message and "alexnet-owt-7be5be79.pth" in message
    assert "pretrained='none'" in message


def test_mobilenet_v2_imagenet_weights_load_from_the_shared_cache(monkeypatch):
    from pathlib import Path

    hub = Path(__file__).resolve().parents[2] / "shared" / "torch-hub"
    if not (hub / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth").is_file():
        pytest.skip("../shared/torch-hub is not present")
    monkeypatch.setenv("TORCH_HOME", str(hub))
    pretrained = create_model("mobilenet_v2", pretrained="imagenet")
    scratch = create_model("mobilenet_v2", pretrained="none")
    first = "features.0.0.weight"
    assert not torch.equal(pretrained.state_dict()[first], scratch.state_dict()[first])
    assert pretrained.classifier[1].out_features == 2
