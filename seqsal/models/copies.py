"""A cache of derived copies of a model (its rewritten graph, its fast copy), never stale, never keeping it alive.

Building the faster copy of a model (:mod:`seqsal.models.rewrite`) deep-copies
and traces it, about 0.2 s for a DeepSTARR-sized network, and every
``attribute`` or ``predict`` call needs one.  The copy depends only on the
model's structure and its parameters and buffers, so it is built once and
reused while they are unchanged:

* the cache is keyed on the model object through a weak reference, so it
  holds no model alive (the copies it holds never refer back to the model);
* each entry records a *fingerprint* of the model: every submodule's name,
  identity, class and ``extra_repr()`` (a layer replaced, added, or
  reconfigured), and every parameter's and buffer's name, identity, storage
  address, shape, dtype, version counter (bumped by every in-place operation:
  ``optimizer.step()``, ``load_state_dict``, ``nn.init``, ``with no_grad():
  w.add_(…)``) and float64 sum of its values (writes through ``.data``
  bypass the version counter; the sum sees any of them that changes it, such
  as a rescaling or a new initialisation, though not a permutation).  A fingerprint that differs, in any part,
  rebuilds the copy;
* the copy's own tensors are fingerprinted too (address and version), so a
  caller that modifies the shared copy in place does not poison the cache.

What the fingerprint cannot see is a change of Python code (a monkey-patched
``forward``) or of a plain attribute that ``extra_repr`` does not show; call
:func:`forget` after such a change.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Hashable, TypeVar

import torch
from torch import nn

T = TypeVar("T")

_entries: weakref.WeakKeyDictionary[nn.Module, dict[Hashable, tuple[Any, Any, Any]]] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def cached(model: nn.Module, kind: Hashable, build: Callable[[nn.Module], T]) -> T:
    """``build(model)``, or the copy an earlier call built for an unchanged ``model``.

    Parameters
    ----------
    model
        The model the copy is derived from; it must not be needed by the copy
        (``build`` deep-copies it) or the weak reference would never clear.
    kind
        Which derived copy (one model can have several, e.g. per device).
    build
        Makes the copy; called again whenever the fingerprint changed.
    """
    fingerprint = model_fingerprint(model)
    with _lock:
        entry = _entries.get(model, {}).get(kind)
        if entry is not None and entry[0] == fingerprint and entry[1] == _copy_fingerprint(entry[2]):
            return entry[2]
    copy = build(model)
    with _lock:
        _entries.setdefault(model, {})[kind] = (fingerprint, _copy_fingerprint(copy), copy)
    return copy


def forget(model: nn.Module) -> None:
    """Drop every cached copy of ``model`` (after a change the fingerprint cannot see)."""
    with _lock:
        _entries.pop(model, None)


@torch.no_grad()
def model_fingerprint(model: nn.Module) -> tuple:
    """Everything about ``model`` that a derived copy depends on, as a comparable tuple (see the module docstring)."""
    modules = tuple((name, id(module), type(module), module.extra_repr()) for name, module in model.named_modules())
    tensors = tuple((name, *_tensor_key(tensor), _checksum(tensor))
                    for name, tensor in (*model.named_parameters(), *model.named_buffers()))
    return modules, tensors


def _copy_fingerprint(copy: Any) -> tuple:
    """Address and version of every tensor of the modules in ``copy`` (a module, or a tuple holding some)."""
    if isinstance(copy, tuple):
        return tuple(_copy_fingerprint(part) for part in copy)
    if not isinstance(copy, nn.Module):
        return ()
    return tuple(_tensor_key(tensor) for tensor in (*copy.parameters(), *copy.buffers()))


def _tensor_key(tensor: torch.Tensor) -> tuple:
    try:
        version = tensor._version
    except RuntimeError:  # an inference-mode tensor has no version counter; it cannot be changed in place either
        version = None
    return id(tensor), tensor.data_ptr(), tuple(tensor.shape), tensor.dtype, tensor.device, version


def _checksum(tensor: torch.Tensor) -> float | complex | int:
    """The sum of the values (in float64 for floats): a write through ``.data`` that changes it is seen."""
    return tensor.sum(dtype=torch.float64).item() if tensor.is_floating_point() else tensor.sum().item()
