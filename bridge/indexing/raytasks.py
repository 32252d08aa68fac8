"""What runs on the cluster's nodes (the Ray side of `raylane.py`): a decode task per chunk of files, and a
model actor per GPU that turns a chunk's model inputs into vectors.

Both call the same code as the laptop path — `worker.process` for a file, `Embedder._encode` for a batch — so
a cluster's index is the laptop's index. Imported by Ray's worker processes (by name), never by the laptop path:
only `raylane.py` imports this module, and only when a run has a cluster.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bridge.indexing import worker
from bridge.indexing.worker import Job
from bridge.models.registry import ResolvedWeights
from bridge.records import FileResult

# Test hooks, read from the node's environment (set on one raylet by the fault tests, never by users):
SLOW_NODE_ENV = "PIXEL_DETECTIVE_TEST_SLOW_NODE_S"  # decode tasks on this node sleep this long first
CRASH_ON_ENV = (
    "PIXEL_DETECTIVE_TEST_CRASH_ON"  # a worker given a file of this name dies, as a decoder crash does
)


def decode_chunk(jobs: list[Job]) -> list[FileResult]:
    """One chunk's files, decoded and analysed on this node exactly as a laptop's decode worker does."""
    delay = float(os.environ.get(SLOW_NODE_ENV, "0") or 0)
    if delay:
        time.sleep(delay)
    crash_on = os.environ.get(CRASH_ON_ENV)
    out = []
    for job in jobs:
        if crash_on and Path(job.path).name == crash_on:
            os._exit(139)
        out.append(worker.process(job))
    return out


class EmbedActor:
    """One model on one device (a GPU, or a CPU share on a cluster without GPUs). The weights come with the
    actor: read from the head's path when this node shares it, else from the bytes the head shipped."""

    def __init__(
        self, weights: ResolvedWeights, blob: bytes | None, device: str, precision: str, batch: int
    ) -> None:
        from bridge.models.clip import load_model

        if blob is not None and weights.weights_file is not None and not weights.weights_file.is_file():
            tmp = Path(tempfile.mkdtemp(prefix="pd-weights-"))
            path = tmp / weights.weights_file.name
            path.write_bytes(blob)
            weights = replace(weights, weights_file=path)
            if weights.config_file is not None and not weights.config_file.is_file():
                raise FileNotFoundError(f"the model config {weights.config_file} is not on this node")
        if device == "cuda":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = load_model(weights, device=device, precision=precision)
        self.batch = max(1, batch)

    def embed(self, results: list[FileResult]) -> list[FileResult]:
        """The chunk's results with vectors in place of model inputs."""
        import torch

        from bridge.models.clip import Embedder

        todo = [i for i, r in enumerate(results) if r.model_input is not None]
        out = list(results)
        t = time.perf_counter()
        with torch.inference_mode():
            for start in range(0, len(todo), self.batch):
                part = todo[start : start + self.batch]
                inputs = np.stack([results[i].model_input for i in part])  # type: ignore[misc]
                vectors = Embedder._encode(self.model, inputs)
                for i, v in zip(part, vectors, strict=True):
                    out[i] = replace(results[i], model_input=None, vector=v)
        if todo:  # each file's share of the actor's time, like the workers' per-phase CPU seconds
            share = (time.perf_counter() - t) / len(todo)
            for i in todo:
                out[i] = replace(out[i], timings={**out[i].timings, "embed_actor": share})
        return out

    def node(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())
