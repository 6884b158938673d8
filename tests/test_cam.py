"""Grad-CAM against Captum's LayerGradCam; CAM against the GAP-head identity."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import LayerAttribution, LayerGradCam

from seqsal.attribution import attribute
from seqsal.errors import SeqsalError
from seqsal.models import EnhancerCNN, ModelConfig
from tests.conftest import TINY


@pytest.mark.parametrize("layer", [None, 0])
def test_grad_cam_matches_captum(tiny_model, onehot_batch, layer):
    ours = attribute(tiny_model, onehot_batch, "grad_cam", hypothetical=True, layer=layer)
    conv = tiny_model.blocks[-1 if layer is None else layer][0]
    x = torch.from_numpy(onehot_batch)
    expected = LayerGradCam(tiny_model, conv).attribute(x, target=0, relu_attributions=True)
    expected = LayerAttribution.interpolate(expected, (x.shape[-1],), interpolate_mode="linear")
    expected = expected.detach().numpy()[:, 0]
    for row in range(4):
        np.testing.assert_allclose(ours[:, row], expected, atol=1e-5, rtol=0)
    assert expected.max() > 0


def test_cam_is_exact_share_of_the_logit(onehot_batch):
    config = ModelConfig(input_length=TINY.input_length, conv_channels=(8, 6), kernel_sizes=(5, 3),
                         dense_units=(), head="gap", dropout=0.0)
    torch.manual_seed(1)
    model = EnhancerCNN(config).eval()
    ours = attribute(model, onehot_batch, "cam", hypothetical=True)[:, 0]
    with torch.no_grad():
        x = torch.from_numpy(onehot_batch)
        features = x
        for block in model.blocks:
            features = block(features)
        raw = torch.einsum("c,ncl->nl", model.output.weight[0], features)
        logits = model(x)[:, 0]
    # The identity CAM rests on: the map's mean plus the bias is the logit.
    np.testing.assert_allclose((raw.mean(dim=1) + model.output.bias[0]).detach().numpy(), logits.numpy(), atol=1e-5)
    upsampled = F.interpolate(raw[:, None], size=x.shape[-1], mode="linear", align_corners=False)[:, 0]
    np.testing.assert_allclose(ours, upsampled.numpy(), atol=1e-6)


def test_cam_refuses_models_without_a_linear_gap_head(tiny_model, onehot_batch):
    with pytest.raises(SeqsalError, match="grad_cam"):
        attribute(tiny_model, onehot_batch, "cam")


def test_grad_cam_bad_layer(tiny_model, onehot_batch):
    with pytest.raises(SeqsalError, match="Conv1d layers are"):
        attribute(tiny_model, onehot_batch, "grad_cam", layer="nonexistent")


def test_grad_cam_and_cam_batch_invariance(tiny_model, onehot_batch):
    a = attribute(tiny_model, onehot_batch, "grad_cam", batch_size=1)
    b = attribute(tiny_model, onehot_batch, "grad_cam", batch_size=64)
    np.testing.assert_allclose(a, b, atol=1e-6)
    gap = EnhancerCNN(ModelConfig(input_length=TINY.input_length, conv_channels=(8, 6), kernel_sizes=(5, 3),
                                  dense_units=(), head="gap", dropout=0.0)).eval()
    np.testing.assert_allclose(attribute(gap, onehot_batch, "cam", batch_size=1),
                               attribute(gap, onehot_batch, "cam", batch_size=7), atol=1e-6)
