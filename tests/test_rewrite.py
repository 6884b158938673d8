"""The attribution-time rewrites compute the same function and the same input gradients, on any traceable model."""

import copy
import dataclasses
import gc
import weakref

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import Saliency
from torch import fx, nn

from seqsal.attribution import attribute
from seqsal.encoding import one_hot
from seqsal.models import SequenceModel, load_model, predict
from seqsal.models import rewrite
from seqsal.models.graph import trace, traced
from seqsal.models.rewrite import (
    attribution_copy,
    explicit_padding,
    fold_batchnorm,
    pool_before_activation,
    rewritten_graph,
)
from seqsal.models import EnhancerCNN, Exponential
from tests.conftest import TINY, random_sequences, randomized_batchnorm
from tests.families import bpnet_like, data_dependent, deepstarr_like, even_same, non_local, saved_as_users_files

# Even kernels with padding="same" make torch warn about an internal padded copy; that is the model's business.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def outputs_and_gradients(model: nn.Module, x: np.ndarray, target: int = 0) -> tuple[np.ndarray, np.ndarray]:
    inputs = torch.from_numpy(x).requires_grad_(True)
    outputs = model(inputs)
    (grad,) = torch.autograd.grad(outputs[:, target].sum(), inputs)
    return outputs.detach().numpy(), grad.numpy()


def assert_same_function(model: nn.Module, fast: nn.Module, x: np.ndarray, target: int = 0) -> None:
    expected, got = outputs_and_gradients(model, x, target), outputs_and_gradients(fast, x, target)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5 * np.abs(expected[0]).max())
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-4, atol=1e-5 * np.abs(expected[1]).max())


def enhancer(activation: str = "relu", head: str = "flatten") -> EnhancerCNN:
    torch.manual_seed(1)
    return randomized_batchnorm(EnhancerCNN(dataclasses.replace(TINY, activation=activation, head=head)))


FAMILIES = {
    "enhancer-relu-flatten": lambda: enhancer(),
    "enhancer-exp-gap": lambda: enhancer("exp", "gap"),
    "enhancer-leaky-flatten": lambda: enhancer("leaky_relu"),
    "deepstarr-sequential": lambda: deepstarr_like(40),
    "bpnet-two-outputs": lambda: bpnet_like(outputs=2),
    "even-same-concat": even_same,
    "untraceable": data_dependent,
    "attention": lambda: non_local("attention"),
    "global-gate": lambda: non_local("gate"),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_attribution_copy_matches_the_model_and_its_gradients(name, onehot_batch):
    model = FAMILIES[name]()
    fast = attribution_copy(model)
    for target in range(model(torch.from_numpy(onehot_batch[:1])).shape[1]):
        assert_same_function(model, fast, onehot_batch, target)


@pytest.mark.parametrize("name", ["enhancer-relu-flatten", "deepstarr-sequential", "bpnet-two-outputs"])
def test_rewritten_copy_is_folded_and_channels_last(name):
    model = FAMILIES[name]()
    fast = attribution_copy(model)
    assert isinstance(fast, fx.GraphModule)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Conv1d)) for m in fast.modules())
    assert any(isinstance(m, nn.Conv2d) for m in fast.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules()) or name.startswith("bpnet")


def test_saliency_matches_captum_on_models_that_are_not_seqsals(onehot_batch):
    for model, target in ((deepstarr_like(40), 0), (bpnet_like(outputs=2), 1)):
        expected = Saliency(model).attribute(torch.from_numpy(onehot_batch), target=target, abs=True).numpy()
        ours = attribute(model, onehot_batch, "saliency", target, hypothetical=True, batch_size=5)
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_gradients_do_not_depend_on_batch_size(onehot_batch):
    model = bpnet_like()
    results = [attribute(model, onehot_batch, "gradient", hypothetical=True, batch_size=size) for size in (1, 5, 16)]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-5, atol=1e-7)


def test_folded_batchnorm_computes_the_same_function(tiny_model, onehot_batch):
    folded = fold_batchnorm(trace(tiny_model))
    assert not any(isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in tiny_model.modules())  # original untouched
    x = torch.from_numpy(onehot_batch)
    with torch.no_grad():
        np.testing.assert_allclose(folded(x).numpy(), tiny_model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_batchnorm_is_not_folded_into_a_conv_whose_output_is_used_elsewhere(onehot_batch):
    class Tap(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.norm = nn.Conv1d(4, 4, 3, padding=1), nn.BatchNorm1d(4)

        def forward(self, x):
            hidden = self.conv(x)
            return (self.norm(hidden) + hidden).mean(dim=2)

    torch.manual_seed(0)
    model = randomized_batchnorm(Tap())
    folded = fold_batchnorm(trace(model))
    assert any(isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    assert_same_function(model, folded, onehot_batch)


class Functional(nn.Module):
    """Activations in functional form, before functional and module max-pools."""

    def __init__(self, activation) -> None:
        super().__init__()
        self.activation = activation
        self.conv, self.pool = nn.Conv1d(4, 6, 5, padding=2), nn.MaxPool1d(3, stride=2, padding=1)

    def forward(self, x):
        return self.pool(self.activation(F.max_pool1d(torch.tanh(self.conv(x)), 2))).flatten(1)


@pytest.mark.parametrize("activation", [torch.relu, torch.sigmoid, torch.exp, lambda x: F.leaky_relu(x, 0.2)])
def test_pool_before_monotone_function_in_functional_form(activation, onehot_batch):
    torch.manual_seed(0)
    model = Functional(activation).eval()
    swapped = pool_before_activation(trace(model))
    order = [node.target for node in swapped.graph.nodes if node.op != "placeholder"]
    assert order[:3] == ["conv", F.max_pool1d, torch.tanh]
    assert order[3] == "pool"
    assert_same_function(model, swapped, onehot_batch)


def test_pool_before_monotone_activation_gives_the_same_values_and_gradients(onehot_batch):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(6, 5, 3), nn.Identity(), Exponential(), nn.MaxPool1d(3, stride=2, padding=1),
        nn.Conv1d(5, 4, 3), nn.LeakyReLU(0.1), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(4 * 3, 1),
    ).eval()
    swapped = pool_before_activation(trace(model))
    kinds = [type(swapped.get_submodule(n.target)).__name__ if n.op == "call_module" else n.target
             for n in swapped.graph.nodes if n.op not in ("placeholder", "output")]
    assert kinds[1:3] == ["MaxPool1d", "ReLU"]
    assert kinds[5:7] == ["MaxPool1d", torch.exp]
    assert kinds[8:10] == ["MaxPool1d", "LeakyReLU"]
    assert isinstance(model[1], nn.ReLU)  # original untouched
    assert_same_function(model, swapped, onehot_batch)


@pytest.mark.parametrize("activation", [nn.GELU(), nn.LeakyReLU(-0.5), nn.ReLU(inplace=True)])
def test_non_monotone_or_in_place_activation_is_not_moved_past_the_pool(activation):
    model = nn.Sequential(nn.Conv1d(4, 4, 3), activation, nn.MaxPool1d(2))
    kept = pool_before_activation(trace(model))
    targets = [n.target for n in kept.graph.nodes if n.op == "call_module"]
    assert targets == ["0", "1", "2"]


def test_same_padding_with_even_kernels_is_made_explicit(onehot_batch):
    model = even_same()
    explicit = explicit_padding(trace(model))
    pads = [n.args[1] for n in explicit.graph.nodes if n.target is F.pad]
    assert pads == [(1, 2), (1, 2), (2, 3)]  # PyTorch puts the extra zero after the sequence
    assert all(m.padding == (0,) for m in explicit.modules() if isinstance(m, nn.Conv1d))
    assert_same_function(model, explicit, onehot_batch)
    assert_same_function(model, rewritten_graph(model), onehot_batch)


def test_untraceable_model_runs_as_given_with_a_note(capsys, onehot_batch):
    model = data_dependent()
    fast = attribution_copy(model, verbose=True)
    assert type(fast) is type(model) and fast is not model and not fast.training
    assert "cannot be traced" in capsys.readouterr().err
    attribution_copy(model)
    assert capsys.readouterr().err == ""
    assert_same_function(model, fast, onehot_batch)


def test_the_users_model_is_left_untouched():
    model = deepstarr_like(40).train()
    before = copy.deepcopy(model.state_dict())
    attribution_copy(model)
    assert model.training and isinstance(model[1], nn.BatchNorm1d) and isinstance(model[0], nn.Conv1d)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_rewriting_does_not_consume_the_global_random_state(tiny_model):
    state = torch.random.get_rng_state()
    attribution_copy(tiny_model)
    assert torch.equal(state, torch.random.get_rng_state())


def counting_traces(monkeypatch) -> list:
    """Record every trace the rewrites make."""
    calls = []

    def counted(model):
        calls.append(type(model).__name__)
        return traced(model)

    monkeypatch.setattr(rewrite, "traced", counted)
    return calls


def test_the_rewritten_copy_is_built_once_per_unchanged_model(monkeypatch, onehot_batch):
    calls = counting_traces(monkeypatch)
    model = bpnet_like()
    fast = attribution_copy(model)
    assert attribution_copy(model) is fast and len(calls) == 1
    attribute(model, onehot_batch, "saliency", batch_size=4)
    predict(model, onehot_batch)
    assert len(calls) == 1
    rewritten_graph(model)
    rewritten_graph(model)
    assert len(calls) == 2  # the (N, C, L) graph for ISM is a second, separately cached copy


@pytest.mark.parametrize("change", ["no_grad", "data", "load_state_dict", "new layer", "copy modified"])
def test_a_model_changed_in_place_gets_a_new_copy(monkeypatch, onehot_batch, change):
    calls = counting_traces(monkeypatch)
    model = deepstarr_like(40)
    stale = attribution_copy(model)
    if change == "no_grad":
        with torch.no_grad():
            model[0].weight.mul_(1.5)
    elif change == "data":  # bypasses the version counter
        model[4].bias.data += 0.3
    elif change == "load_state_dict":
        model.load_state_dict(deepstarr_like(40, seed=5).state_dict())
    elif change == "new layer":
        model[2] = nn.Tanh()
    else:
        with torch.no_grad():
            next(stale.parameters()).mul_(2)
    fast = attribution_copy(model)
    assert fast is not stale and len(calls) == 2
    assert_same_function(model, fast, onehot_batch)


def test_the_cache_does_not_keep_models_alive():
    model = bpnet_like()
    attribution_copy(model)
    rewritten_graph(model)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


@pytest.fixture(scope="module")
def users_files(tmp_path_factory):
    original = deepstarr_like(41, outputs=2)
    return original, saved_as_users_files(tmp_path_factory.mktemp("users"), "deepstarr_like", original, 41, 2)


@pytest.mark.parametrize("source", ["code", "pt2", "fixed-batch pt2"])
def test_users_models_loaded_from_files_are_rewritten(users_files, source):
    original, sources = users_files
    model = load_model(**sources[source], device="cpu")
    fast = attribution_copy(model)
    # rewritten through the adapters, or (fixed export batch) inside them
    graph = fast.network if source == "fixed-batch pt2" else fast
    assert isinstance(graph, fx.GraphModule) and isinstance(fast, SequenceModel) == (source == "fixed-batch pt2")
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Conv1d)) for m in graph.modules())
    assert any(isinstance(m, nn.Conv2d) for m in graph.modules())
    x = one_hot(random_sequences(5, 41, seed=2))
    for target in (0, 1):
        assert_same_function(original, fast, x, target)


class ResidualMean(nn.Module):
    """A residual block with ReLU modules (so hooks can watch their gradients), mean over length, linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Conv1d(4, 8, 5, padding=2), nn.Conv1d(8, 8, 3, padding=2, dilation=2)
        self.relu1, self.relu2, self.head = nn.ReLU(), nn.ReLU(), nn.Linear(8, 1)

    def forward(self, x):
        x = self.relu1(self.first(x))
        return self.head((x + self.relu2(self.second(x))).mean(dim=2))


def test_gradients_inside_the_channels_last_region_are_channels_last(onehot_batch):
    """Mixed layouts send element-wise backward passes (ReLU's, residual sums') down a slow strided path."""
    torch.manual_seed(0)
    fast = attribution_copy(ResidualMean().eval())
    layouts = []
    for module in fast.modules():
        if isinstance(module, nn.ReLU):
            module.register_full_backward_hook(lambda module, grad_input, grad_output: layouts.append(
                grad_output[0].is_contiguous(memory_format=torch.channels_last)))
    outputs_and_gradients(fast, onehot_batch)
    assert layouts == [True, True]
