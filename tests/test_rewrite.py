"""The attribution-time rewrites compute the same function and the same input gradients."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from seqsal.attribution.rewrite import (
    ChannelsLastCNN,
    attribution_copy,
    channels_last_cnn,
    fold_batchnorm,
    pool_before_activation,
)
from seqsal.models import EnhancerCNN, Exponential
from tests.conftest import TINY, randomized_batchnorm


def outputs_and_gradients(model: nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inputs = torch.from_numpy(x).requires_grad_(True)
    outputs = model(inputs)
    (grad,) = torch.autograd.grad(outputs.sum(), inputs)
    return outputs.detach().numpy(), grad.numpy()


def test_folded_batchnorm_computes_the_same_function(tiny_model, onehot_batch):
    folded = fold_batchnorm(tiny_model)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in tiny_model.modules())  # original untouched
    x = torch.from_numpy(onehot_batch)
    with torch.no_grad():
        np.testing.assert_allclose(folded(x).numpy(), tiny_model(x).numpy(), atol=1e-5)


def test_pool_before_monotone_activation_gives_the_same_values_and_gradients(onehot_batch):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(6, 5, 3), nn.Identity(), Exponential(), nn.MaxPool1d(3, stride=2, padding=1),
        nn.Conv1d(5, 4, 3), nn.LeakyReLU(0.1), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(4 * 3, 1),
    ).eval()
    swapped = pool_before_activation(model)
    kinds = [type(m).__name__ for m in swapped]
    assert kinds[1:3] == ["MaxPool1d", "ReLU"]
    assert kinds[5:7] == ["MaxPool1d", "Exponential"]
    assert kinds[8:10] == ["MaxPool1d", "LeakyReLU"]
    assert isinstance(model[1], nn.ReLU)  # original untouched
    expected, swapped_result = outputs_and_gradients(model, onehot_batch), outputs_and_gradients(swapped, onehot_batch)
    np.testing.assert_array_equal(swapped_result[0], expected[0])
    # the chain rule multiplies in another order: equal up to float rounding
    np.testing.assert_allclose(swapped_result[1], expected[1], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("activation", [nn.GELU(), nn.LeakyReLU(-0.5)])
def test_non_monotone_activation_is_not_moved_past_the_pool(activation):
    model = nn.Sequential(nn.Conv1d(4, 4, 3), activation, nn.MaxPool1d(2))
    kept = pool_before_activation(model)
    assert type(kept[1]) is type(activation)
    assert isinstance(kept[2], nn.MaxPool1d)


@pytest.mark.parametrize("activation", ["relu", "exp", "leaky_relu"])
@pytest.mark.parametrize("head", ["flatten", "gap"])
def test_attribution_copy_matches_the_model_and_its_gradients(activation, head, onehot_batch):
    torch.manual_seed(1)
    model = randomized_batchnorm(EnhancerCNN(dataclasses.replace(TINY, activation=activation, head=head)))
    fast = attribution_copy(model)
    assert isinstance(fast, ChannelsLastCNN)
    expected, got = outputs_and_gradients(model, onehot_batch), outputs_and_gradients(fast, onehot_batch)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-4, atol=1e-5 * np.abs(expected[1]).max())


def test_channels_last_leaves_a_model_with_unknown_block_layers_as_it_is(tiny_model):
    tiny_model.blocks[0].append(nn.Softmax(dim=1))
    assert channels_last_cnn(tiny_model) is tiny_model


def test_rewriting_does_not_consume_the_global_random_state(tiny_model):
    state = torch.random.get_rng_state()
    attribution_copy(tiny_model)
    assert torch.equal(state, torch.random.get_rng_state())
