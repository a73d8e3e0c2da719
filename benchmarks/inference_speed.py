"""Face classification throughput, PyTorch eager vs onnxruntime, side by side in one run.

    python benchmarks/inference_speed.py [--model model3] [--repeats 20]

Prints faces/s and ms per call at batch 1 and batch 256 for each backend, on random inputs of
the checkpoint's input size.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from lrfp.core.records import cpu_name
from lrfp.pipeline.inference import Classifier


def timed(fn, x, repeats: int) -> float:
    fn(x)  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="model3", help="checkpoint path or a name in weights/")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        import lrfp.models.onnx_backend as ob

        ob.CACHE_DIR = ob.Path(cache)
        backends = {
            "torch eager": Classifier(args.model, backend="torch"),
            "onnxruntime": Classifier(args.model, backend="onnx"),
        }
        size = backends["onnxruntime"].input_size
        print(f"cpu: {cpu_name()}, torch threads {torch.get_num_threads()}, model {args.model} at {size} px")
        print(f"{'backend':12} {'batch':>5} {'ms/call':>9} {'faces/s':>9}")
        for batch in (1, 256):
            x = torch.randn(batch, 3, size, size)
            for name, clf in backends.items():
                seconds = timed(clf.logits, x, args.repeats if batch == 1 else max(3, args.repeats // 4))
                print(f"{name:12} {batch:>5} {seconds * 1000:9.2f} {batch / seconds:9.0f}", flush=True)


if __name__ == "__main__":
    main()
