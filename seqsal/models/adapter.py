"""One adapter that makes any user's model look like a seqsal model to every command.

seqsal's commands read a model through one interface: ``model(x)`` maps
float32 one-hot ``(N, 4, L)`` to float32 logits ``(N, T)``, and
``model.config`` says ``input_length``, ``n_outputs``, ``output_names`` and
``task`` (what :class:`~seqsal.models.cnn.EnhancerCNN` has).
:class:`SequenceModel` wraps any other network (a ``torch.export`` program, a
TorchScript module, a module built from the user's code) and applies, in its
``forward``, only the adapters the user chose: input layout, the model's own
floating-point dtype, which output of a tuple or dict, how a profile is
reduced, and a fixed export batch size.  Because the adapters live in
``forward``, gradients, hooks and every attribution method see one ordinary
module, and no command needs a special case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from seqsal.checks import check_choice, check_int
from seqsal.errors import SeqsalError, check
from seqsal.models.cnn import TASKS

LAYOUTS = ("NCL", "NLC")
REDUCTIONS = ("sum", "mean", "profile")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class ModelInterface:
    """What seqsal reads from ``model.config``: the fields an :class:`~seqsal.models.cnn.ModelConfig` also has.

    Parameters
    ----------
    input_length
        Sequence length ``L`` the model reads (commands crop or pad to it).
    n_outputs
        Number of logits ``T``.
    output_names
        One name per output, for tables and ``target=`` by name.
    task
        ``"classification"`` (logits; probabilities are their sigmoid) or ``"regression"``.
    """

    input_length: int
    n_outputs: int
    output_names: tuple[str, ...]
    task: str

    def __post_init__(self) -> None:
        check_int(self.input_length, "length", minimum=1)
        check_int(self.n_outputs, "n_outputs", minimum=1)
        object.__setattr__(self, "output_names", tuple(self.output_names))
        check(len(self.output_names) == self.n_outputs and all(isinstance(n, str) for n in self.output_names),
              f"the model has {self.n_outputs} output(s) but output_names={list(self.output_names)}; "
              "give one name (a string) per output")
        check_choice(self.task, "task", TASKS)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-like dictionary for manifests (what merge compares between shards)."""
        return {**asdict(self), "output_names": list(self.output_names)}


@dataclass(frozen=True)
class Adapters:
    """How :class:`SequenceModel` turns seqsal's input into the network's, and its output into ``(N, T)``.

    Parameters
    ----------
    input_layout
        ``"NCL"`` (``(N, 4, L)``, seqsal's own) or ``"NLC"`` (``(N, L, 4)``: the input is transposed).
    output_index
        Which element of a tuple or list output is the prediction.
    output_key
        Which entry of a dict output is the prediction.
    reduce
        How a profile output ``(N, T, L)`` becomes ``(N, T)``: ``"sum"`` or
        ``"mean"`` over positions, or ``"profile"``, BPNet's weighting
        ``Σ_l logits_l · softmax(logits)_l`` with the softmax detached, so the
        gradient explains the profile's shape rather than its total.
    dtype
        The network's floating-point type; inputs are cast to it and outputs back to float32.
    batch_size
        The batch size a ``torch.export`` program was exported with when it is
        fixed; inputs are split into batches of exactly that size, the last
        padded with zero rows whose outputs are dropped.
    """

    input_layout: str = "NCL"
    output_index: int | None = None
    output_key: str | None = None
    reduce: str | None = None
    dtype: str = "float32"
    batch_size: int | None = None

    def __post_init__(self) -> None:
        check_choice(self.input_layout, "input_layout", LAYOUTS)
        if self.output_index is not None:
            check_int(self.output_index, "output_index", minimum=0)
        check(self.output_key is None or isinstance(self.output_key, str),
              f"output_key must be a string, got {self.output_key!r}")
        check(self.output_index is None or self.output_key is None,
              "give output_index (a tuple output) or output_key (a dict output), not both")
        if self.reduce is not None:
            check_choice(self.reduce, "reduce", REDUCTIONS)
        check_choice(self.dtype, "dtype", DTYPES)
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", minimum=1)

    def to_dict(self) -> dict[str, Any]:
        """The adapter choices for a manifest."""
        return asdict(self)


class SequenceModel(nn.Module):
    """A user's network behind seqsal's model interface: ``(N, 4, L)`` float32 in, ``(N, T)`` float32 out.

    Build it with :func:`seqsal.models.load_model`, which discovers the
    ``config`` (input length, outputs, names, task) and records where the
    network came from in ``source``.

    Parameters
    ----------
    network
        The user's module (for a ``torch.export`` program, ``ExportedProgram.module()``).
    adapters
        The input and output adapters applied in :meth:`forward`.
    source
        Provenance: ``kind`` (``torch.export``, ``torchscript``, ``code``,
        ``in-memory``), ``path`` and ``sha256`` of the file, and for code the
        ``code`` spec, ``code_sha256``, ``weights`` and ``weights_sha256``.
    fixed_mode
        True when the network's train/eval mode cannot be changed (an
        exported program is frozen in the mode it was exported in).

    Attributes
    ----------
    config : ModelInterface | None
        Set by the loader once the length and outputs are known.
    metadata : dict
        Empty: a user's file carries no seqsal metadata (manifests read it from every model).
    """

    def __init__(self, network: nn.Module, adapters: Adapters, source: dict[str, Any], *,
                 fixed_mode: bool = False) -> None:
        super().__init__()
        self.network = network
        self.adapters = adapters
        self.source = dict(source)
        self.fixed_mode = fixed_mode
        self.config: ModelInterface | None = None
        self.metadata: dict[str, Any] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` float32 for one-hot ``(N, 4, L)``, in batches of the fixed export size if there is one."""
        fixed = self.adapters.batch_size
        if fixed is None or x.shape[0] == fixed:
            return self.call(x)
        return torch.cat([self._padded(part, fixed) for part in x.split(fixed)])

    def _padded(self, part: torch.Tensor, fixed: int) -> torch.Tensor:
        n = part.shape[0]
        if n < fixed:
            part = torch.cat([part, part.new_zeros((fixed - n, *part.shape[1:]))])
        return self.call(part)[:n]

    def call(self, x: torch.Tensor) -> torch.Tensor:
        """One pass of the network with the layout, dtype, output and reduction adapters applied."""
        if self.adapters.input_layout == "NLC":
            x = x.transpose(1, 2)
        output = self.network(x.to(DTYPES[self.adapters.dtype]))
        return reduce_output(select_output(output, self.adapters), self.adapters.reduce).to(torch.float32)

    def train(self, mode: bool = True) -> SequenceModel:
        """Set the mode of the wrapper and, unless it is frozen (an exported program), of the network."""
        self.training = mode
        if not self.fixed_mode:
            self.network.train(mode)
        return self


def select_output(output: object, adapters: Adapters) -> torch.Tensor:
    """The prediction tensor among a network's outputs: a tensor as is, a tuple's element, a dict's entry."""
    if isinstance(output, dict):
        keys = [str(key) for key in output]
        check(adapters.output_key is not None,
              f"the model returns a dict with keys {keys}; pass output_key= with the one to explain")
        check(adapters.output_key in output,
              f"output_key {adapters.output_key!r} is not among the model's outputs {keys}")
        output = output[adapters.output_key]
    elif isinstance(output, (tuple, list)):
        check(adapters.output_index is not None,
              f"the model returns a {type(output).__name__} of {len(output)} outputs; pass output_index= "
              "with the position of the one to explain")
        check(adapters.output_index < len(output),
              f"output_index {adapters.output_index} is out of range; the model returns {len(output)} outputs")
        output = output[adapters.output_index]
    else:
        check(adapters.output_index is None and adapters.output_key is None,
              "output_index or output_key was given but the model returns a single output; leave them out")
    if not isinstance(output, torch.Tensor):
        raise SeqsalError(f"the model's output is a {type(output).__name__}, not a tensor of logits")
    return output


def reduce_output(output: torch.Tensor, reduce: str | None) -> torch.Tensor:
    """``(N,)`` → ``(N, 1)``; ``(N, T)`` as is; a profile ``(N, T, L)`` reduced over positions as asked."""
    if output.ndim == 1:
        check(reduce is None, "reduce= was given but the model returns one value per sequence; leave it out")
        return output[:, None]
    if output.ndim == 2:
        check(reduce is None, f"reduce= was given but the model returns {tuple(output.shape)} (N, T) logits; "
                              "leave it out")
        return output
    check(output.ndim == 3, f"the model returns shape {tuple(output.shape)}; seqsal explains (N, T) logits "
                            "or (N, T, L) profiles")
    check(reduce is not None, f"the model returns a profile of shape {tuple(output.shape)} (N, T, L); pass "
                              "reduce='sum', 'mean' or 'profile' to turn it into one value per output")
    if reduce == "sum":
        return output.sum(dim=2)
    if reduce == "mean":
        return output.mean(dim=2)
    return (output * torch.softmax(output, dim=2).detach()).sum(dim=2)


def network_dtype(network: nn.Module) -> str:
    """Name of the network's floating-point type (its first floating parameter or buffer; float32 if none)."""
    for tensor in [*network.parameters(), *network.buffers()]:
        if tensor.is_floating_point():
            return dtype_name(tensor.dtype)
    return "float32"


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float64`` → ``"float64"``; a dtype seqsal cannot feed one-hot input in is refused."""
    for name, known in DTYPES.items():
        if known == dtype:
            return name
    raise SeqsalError(f"the model reads {dtype} input; seqsal feeds floating-point one-hot ({', '.join(DTYPES)})")


def unwrap(model: nn.Module) -> nn.Module:
    """The user's network inside a :class:`SequenceModel`, or the model itself (for walking its layers)."""
    return model.network if isinstance(model, SequenceModel) else model
