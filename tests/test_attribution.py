import numpy as np
import pytest
import torch
from captum.attr import InputXGradient, Saliency

from seqsal.attribution import attribute, correct_gradient, method_options, per_position
from seqsal.errors import SeqsalError


def _captum(model, X, cls, target=0, **kwargs):
    x = torch.from_numpy(X).requires_grad_(True)
    return cls(model).attribute(x, target=target, **kwargs).detach().numpy()


def test_saliency_matches_captum(tiny_model, onehot_batch):
    ours = attribute(tiny_model, onehot_batch, "saliency", hypothetical=True)
    expected = _captum(tiny_model, onehot_batch, Saliency, abs=True)
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    assert np.abs(expected).max() > 1e-3  # the comparison is not between two zero arrays


def test_grad_x_input_matches_captum(tiny_model, onehot_batch):
    ours = attribute(tiny_model, onehot_batch, "grad_x_input")
    expected = _captum(tiny_model, onehot_batch, InputXGradient)
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)


def test_probability_output_is_chain_rule_of_logit(tiny_model, onehot_batch):
    logit_grad = attribute(tiny_model, onehot_batch, "gradient", hypothetical=True)
    prob_grad = attribute(tiny_model, onehot_batch, "gradient", hypothetical=True, output="probability")
    with torch.no_grad():
        p = torch.sigmoid(tiny_model(torch.from_numpy(onehot_batch))[:, 0]).numpy()
    np.testing.assert_allclose(prob_grad, logit_grad * (p * (1 - p))[:, None, None], atol=1e-6)


@pytest.mark.parametrize("method", ["gradient", "saliency", "grad_x_input"])
def test_identical_across_batch_sizes(tiny_model, onehot_batch, method):
    results = [attribute(tiny_model, onehot_batch, method, batch_size=b, correct=True) for b in (1, 7, 64)]
    for other in results[1:]:
        np.testing.assert_allclose(results[0], other, atol=1e-6, rtol=0)


def test_correction_removes_the_mean_over_bases(tiny_model, onehot_batch):
    raw = attribute(tiny_model, onehot_batch, "gradient", hypothetical=True)
    corrected = attribute(tiny_model, onehot_batch, "gradient", hypothetical=True, correct=True)
    np.testing.assert_allclose(corrected, raw - raw.mean(axis=1, keepdims=True), atol=1e-7)
    np.testing.assert_allclose(corrected.sum(axis=1), 0, atol=1e-6)
    assert np.allclose(correct_gradient(np.ones((1, 4, 3))), 0)


def test_projected_is_hypothetical_times_onehot(tiny_model, onehot_batch):
    hyp = attribute(tiny_model, onehot_batch, "saliency", hypothetical=True)
    proj = attribute(tiny_model, onehot_batch, "saliency")
    np.testing.assert_array_equal(proj, hyp * onehot_batch)
    np.testing.assert_allclose(per_position(proj), (hyp * onehot_batch).sum(axis=1))


def test_model_state_is_restored(tiny_model, onehot_batch):
    tiny_model.train()
    flags = [p.requires_grad for p in tiny_model.parameters()]
    attribute(tiny_model, onehot_batch, "saliency")
    assert tiny_model.training
    assert [p.requires_grad for p in tiny_model.parameters()] == flags
    assert all(p.grad is None for p in tiny_model.parameters())


def test_model_state_is_restored_on_error(tiny_model, onehot_batch):
    tiny_model.train()
    with pytest.raises(SeqsalError):
        attribute(tiny_model, onehot_batch, "saliency", target=5)
    assert tiny_model.training and all(p.requires_grad for p in tiny_model.parameters())


def test_target_by_name(tiny_model, onehot_batch):
    by_name = attribute(tiny_model, onehot_batch, "gradient", target="enhancer")
    np.testing.assert_array_equal(by_name, attribute(tiny_model, onehot_batch, "gradient", target=0))


def test_bad_arguments_name_the_valid_choices(tiny_model, onehot_batch):
    with pytest.raises(SeqsalError, match="saliency"):
        attribute(tiny_model, onehot_batch, "magic")
    with pytest.raises(SeqsalError, match="logit"):
        attribute(tiny_model, onehot_batch, "saliency", output="odds")
    with pytest.raises(SeqsalError, match=r"\(N, 4, L\)"):
        attribute(tiny_model, onehot_batch[:, :3], "saliency")




def test_probability_attributions_survive_saturation_beyond_float32():
    # at a logit of 20 the float32 sigmoid is exactly 1 and its gradient exactly 0; float64 keeps sigma'(20) ~ 2e-9
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 5, 1)).eval()
    with torch.no_grad():
        model[1].weight.fill_(4.0)
        model[1].bias.zero_()
    x = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]].T[None]  # logit = 5 bases x 4 = 20
    logit_map = attribute(model, x, "grad_x_input", output="logit")
    probability_map = attribute(model, x, "grad_x_input", output="probability")
    derivative = np.exp(-20.0) / (1 + np.exp(-20.0)) ** 2
    np.testing.assert_allclose(probability_map, logit_map * derivative, rtol=1e-5)
    assert probability_map.max() > 0


@pytest.mark.parametrize("method", ["grad_x_input", "saliency", "integrated_gradients"])
def test_predictions_come_back_with_the_scores(method, onehot_batch):
    from tests.families import bpnet_like

    model = bpnet_like(outputs=2)
    options = {"steps": 4} if method == "integrated_gradients" else {}
    scores, logits = attribute(model, onehot_batch, method, 1, return_predictions=True, batch_size=5, **options)
    np.testing.assert_array_equal(scores, attribute(model, onehot_batch, method, 1, batch_size=5, **options))
    with torch.no_grad():
        expected = model(torch.from_numpy(onehot_batch)).numpy()
    assert logits.shape == (16, 2) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert "return_predictions" not in method_options(method)


def test_the_cli_choices_name_every_method_and_the_correction_changes_exactly_the_corrected_ones(tiny_model,
                                                                                              onehot_batch):
    from seqsal.attribution import METHODS
    from seqsal.choices import CORRECTED_METHODS
    from seqsal.choices import METHODS as CHOICES

    assert tuple(METHODS) == CHOICES and set(CORRECTED_METHODS) <= set(CHOICES)
    X = onehot_batch[:2]
    options = {"smoothgrad": {"n_samples": 2}, "smoothgrad_sq": {"n_samples": 2}, "integrated_gradients": {"steps": 4},
               "deeplift_shap": {"n_references": 2}, "lime": {"n_samples": 20}, "kernel_shap": {"n_samples": 20}}
    for method in (m for m in CHOICES if m != "cam"):  # cam needs a GAP head; the tiny model flattens
        plain, corrected = (attribute(tiny_model, X, method, hypothetical=True, correct=correct,
                                      **options.get(method, {})) for correct in (False, True))
        assert (not np.allclose(plain, corrected)) == (method in CORRECTED_METHODS), method
