"""Models: seqsal's own enhancer CNN, its safe file format, the loader for users' models, and prediction.

This package owns everything about *a model as an object seqsal can run*:

- :mod:`~seqsal.models.cnn`: :class:`ModelConfig` and :class:`EnhancerCNN`, seqsal's own architecture;
- :mod:`~seqsal.models.files`: the weights-only seqsal model file (:func:`save_model`) and the one safe reader;
- :mod:`~seqsal.models.sources`: :func:`load_model` for every source (seqsal files, ``torch.export``,
  TorchScript, trusted code + weights) and :func:`model_provenance` for manifests;
- :mod:`~seqsal.models.adapter`: :class:`SequenceModel`, which puts a user's network behind seqsal's interface;
- :mod:`~seqsal.models.probe`: finding a user's model's input length by trial runs;
- :mod:`~seqsal.models.running`: :func:`resolve_device`, :func:`as_input_tensor`, :func:`predict`.

Every name importable from ``seqsal.models`` before the split still is.
"""

from seqsal.models.adapter import Adapters, ModelInterface, SequenceModel, unwrap
from seqsal.models.cnn import ACTIVATIONS, HEADS, TASKS, EnhancerCNN, Exponential, ModelConfig
from seqsal.models.files import (
    BUNDLED_MODELS, FORMAT, FORMAT_VERSION, bundled_model_path, default_model_path, model_file_path, save_model,
)
from seqsal.models.running import as_input_tensor, check_logits, predict, resolve_device
from seqsal.models.sources import ModelOptions, explained_model, load_model, model_provenance, reload_model

__all__ = [
    "ACTIVATIONS", "FORMAT", "FORMAT_VERSION", "HEADS", "TASKS", "Adapters", "EnhancerCNN", "Exponential",
    "ModelConfig", "ModelInterface", "ModelOptions", "SequenceModel", "as_input_tensor", "check_logits", "unwrap",
    "BUNDLED_MODELS", "bundled_model_path", "default_model_path", "explained_model", "model_file_path", "load_model",
    "model_provenance", "predict", "reload_model", "resolve_device", "save_model",
]
