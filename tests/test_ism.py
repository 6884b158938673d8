import numpy as np
import pytest
import torch
from torch import nn

from seqsal.attribution import attribute, method_options
from seqsal.attribution.ism import fast_plan, ism_deltas
from seqsal.attribution.windowed import windowed_deltas
from seqsal.errors import SeqsalError
from seqsal.models import EnhancerCNN, ModelConfig, SequenceModel, load_model
from tests.families import bpnet_like, data_dependent, deepstarr_like, even_same, non_local

# Even kernels with padding="same" make torch warn about an internal padded copy; that is the model's business.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def _model(**config) -> EnhancerCNN:
    """A small random EnhancerCNN with non-trivial batch-norm statistics and outputs of order 1."""
    torch.manual_seed(0)
    model = EnhancerCNN(ModelConfig(dropout=0.0, **config))
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
        elif isinstance(module, (nn.Conv1d, nn.Linear)):
            module.weight.data *= 2.0
    return model.eval()


def _sequences(n: int, length: int, seed: int = 0) -> np.ndarray:
    """Random one-hot sequences with some N (all-zero) columns, including at both ends and a run."""
    rng = np.random.default_rng(seed)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy()
    X[0, :, 0] = 0
    X[-1, :, -1] = 0
    X[n // 2, :, 7:11] = 0
    return X


def _brute_force_loop(model, X, output="logit", start=0, end=None, target=0):
    """Run the model on every single-base mutant, one sequence's mutants at a time."""
    end = X.shape[2] if end is None else end
    deltas = np.zeros_like(X)
    model.eval()
    with torch.no_grad():
        for n, x in enumerate(X):
            mutants, where = [], []
            for position in range(start, end):
                for base in range(4):
                    if x[base, position] == 1 and x[:, position].sum() == 1:
                        continue
                    mutant = x.copy()
                    mutant[:, position] = 0
                    mutant[base, position] = 1
                    mutants.append(mutant)
                    where.append((base, position))
            logits = model(torch.from_numpy(np.stack([x, *mutants])))[:, target]
            scores = torch.sigmoid(logits) if output == "probability" else logits
            for (base, position), score in zip(where, scores[1:] - scores[0]):
                deltas[n, base, position] = score.item()
    return deltas


CONFIGS = {
    "flatten-relu-odd": dict(input_length=41, conv_channels=(8, 6), kernel_sizes=(5, 3), dense_units=(12,)),
    "flatten-exp-even": dict(input_length=43, conv_channels=(8, 6, 5), kernel_sizes=(6, 4, 2), dense_units=(7, 5),
                             activation="exp"),
    "gap-relu-mixed": dict(input_length=45, conv_channels=(8, 6), kernel_sizes=(4, 5), dense_units=(9,), head="gap"),
    "gap-exp-no-dense": dict(input_length=39, conv_channels=(8, 6, 4), kernel_sizes=(7, 2, 3), dense_units=(),
                             head="gap", activation="exp"),
    "flatten-pool3-leaky": dict(input_length=50, conv_channels=(8, 6), kernel_sizes=(4, 3), dense_units=(6,),
                                pool_size=3, activation="leaky_relu"),
}


def assert_matches(ours: np.ndarray, expected: np.ndarray) -> None:
    """Equal to 1e-5 of the largest effect, and not a comparison between near-zero arrays."""
    assert np.abs(expected).max() > 0.03
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def _has_plan(model, length) -> bool:
    return fast_plan(model, _sequences(1, length), torch.device("cpu")) is not None


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fast_path_matches_running_every_mutant(name):
    model = _model(**CONFIGS[name])
    assert _has_plan(model, model.config.input_length)  # the windowed path is the one under test
    X = _sequences(4, model.config.input_length)
    assert_matches(ism_deltas(model, X, batch_size=3), _brute_force_loop(model, X))


# Models that are not seqsal's class, with their input length and the target to explain.
FAMILIES = {
    "deepstarr-sequential": (lambda: deepstarr_like(41), 41, 0),
    "bpnet-residual-gap": (lambda: bpnet_like(outputs=2), 40, 1),
    "bpnet-wide-first": (lambda: bpnet_like(first_kernel=12, layers=2), 33, 0),
    "even-same-concat-pool": (even_same, 40, 1),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_fast_path_on_models_that_are_not_seqsals(name):
    build, length, target = FAMILIES[name]
    model = build()
    assert _has_plan(model, length)
    X = _sequences(3, length)
    assert_matches(ism_deltas(model, X, target=target, batch_size=2), _brute_force_loop(model, X, target=target))


def test_max_over_length_and_valid_convolutions():
    class MaxHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv1d(4, 6, 5), nn.Conv1d(6, 5, 3, dilation=2)  # each shrinks the length
            self.head = nn.Linear(10, 1)

        def forward(self, x):
            hidden = self.b(torch.relu(self.a(x)))
            return self.head(torch.cat([hidden.amax(dim=2), hidden.sum(dim=-1) / 10], dim=1))

    torch.manual_seed(3)
    model = MaxHead().eval()
    assert _has_plan(model, 30)
    X = _sequences(3, 30)
    assert_matches(ism_deltas(model, X, batch_size=2), _brute_force_loop(model, X))


@pytest.mark.parametrize("model", [data_dependent(), non_local("attention"), non_local("gate")],
                         ids=["untraceable", "attention", "global-gate"])
def test_untraceable_and_non_local_models_fall_back_to_brute_force(model):
    assert not _has_plan(model, 24)
    X = _sequences(3, 24)
    np.testing.assert_allclose(ism_deltas(model, X, batch_size=5), _brute_force_loop(model, X), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["flatten-exp-even", "gap-relu-mixed"])
def test_window_and_probability_output(name):
    model = _model(**CONFIGS[name])
    X = _sequences(3, model.config.input_length, seed=2)
    expected = _brute_force_loop(model, X, output="probability", start=5, end=12)
    ours = ism_deltas(model, X, output="probability", start=5, end=12)
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    assert (ours[:, :, :5] == 0).all() and (ours[:, :, 12:] == 0).all()
    assert (ours[:, :, 5:12] != 0).any()


def test_reference_bases_are_zero_and_n_columns_get_all_four():
    model = _model(**CONFIGS["flatten-relu-odd"])
    X = _sequences(3, model.config.input_length)
    deltas = ism_deltas(model, X)
    assert (deltas[X == 1] == 0).all()
    assert (deltas[1, :, 7:11] != 0).all()
    assert (deltas[0, :, 0] != 0).all()


def test_a_plain_sequential_takes_the_fast_path():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv1d(4, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 18, 2)).eval()
    assert _has_plan(model, 20)
    X = _sequences(3, 20)
    expected = _brute_force_loop(model, X, target=1, start=2)
    np.testing.assert_allclose(ism_deltas(model, X, target=1, start=2, batch_size=7), expected, atol=1e-5, rtol=0)


def test_a_global_operation_in_the_trunk_falls_back_to_brute_force():
    model = _model(**CONFIGS["flatten-relu-odd"])
    model.blocks[1].append(nn.Softmax(dim=2))  # every position now depends on every other
    assert not _has_plan(model, model.config.input_length)
    X = _sequences(2, model.config.input_length)
    np.testing.assert_allclose(ism_deltas(model, X), _brute_force_loop(model, X), atol=1e-5, rtol=0)


@pytest.mark.parametrize("windowed", [True, False])
def test_identical_across_batch_sizes(windowed):
    model = _model(**CONFIGS["gap-exp-no-dense"]) if windowed else non_local("gate")
    assert _has_plan(model, 39) == windowed
    X = _sequences(5, 39)
    results = [ism_deltas(model, X, batch_size=size, start=3, end=20) for size in (1, 4, 64)]
    for other in results[1:]:
        np.testing.assert_allclose(results[0], other, atol=1e-6, rtol=0)


def test_attribution_is_deltas_centred_over_bases():
    model = _model(**CONFIGS["gap-relu-mixed"])
    X = _sequences(3, model.config.input_length)
    deltas = ism_deltas(model, X)
    hypothetical = attribute(model, X, "ism", hypothetical=True)
    np.testing.assert_allclose(hypothetical, deltas - deltas.mean(axis=1, keepdims=True), atol=1e-7)
    np.testing.assert_allclose(hypothetical.sum(axis=1), 0, atol=1e-6)
    np.testing.assert_array_equal(attribute(model, X, "ism"), hypothetical * X)
    np.testing.assert_array_equal(attribute(model, X, "ism", hypothetical=True, correct=True), hypothetical)


def test_window_through_attribute_and_unknown_options():
    model = _model(**CONFIGS["flatten-relu-odd"])
    X = _sequences(2, model.config.input_length)
    windowed = attribute(model, X, "ism", hypothetical=True, start=10, end=15)
    np.testing.assert_allclose(windowed[:, :, 10:15], attribute(model, X, "ism", hypothetical=True)[:, :, 10:15],
                               atol=1e-6)
    assert (windowed[:, :, :10] == 0).all() and (windowed[:, :, 15:] == 0).all()
    assert method_options("ism") == ("start", "end")
    with pytest.raises(SeqsalError, match="start, end"):
        attribute(model, X, "ism", stop=3)


@pytest.mark.parametrize("start, end", [(5, 5), (-1, 4), (0, 42), (1.5, 4), (True, 3)])
def test_bad_windows_are_refused(start, end):
    model = _model(**CONFIGS["flatten-relu-odd"])
    with pytest.raises(SeqsalError, match="ISM window"):
        ism_deltas(model, _sequences(1, 41), start=start, end=end)


def test_wrong_length_target_and_output_are_refused():
    model = _model(**CONFIGS["flatten-relu-odd"])
    with pytest.raises(SeqsalError, match="length 40"):
        ism_deltas(model, _sequences(1, 40))
    with pytest.raises(SeqsalError, match="target 3"):
        ism_deltas(model, _sequences(1, 41), target=3)
    with pytest.raises(SeqsalError, match="logit"):
        ism_deltas(model, _sequences(1, 41), output="odds")


def test_model_state_is_restored_also_on_error():
    model = _model(**CONFIGS["flatten-relu-odd"])
    model.train()
    model.blocks[0][0].weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    before = {key: value.clone() for key, value in model.state_dict().items()}
    X = _sequences(2, 41)
    ism_deltas(model, X)
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # running statistics untouched
    with pytest.raises(SeqsalError):
        ism_deltas(model, X, target=5)
    assert model.training and [p.requires_grad for p in model.parameters()] == flags


# Users' models loaded from files: (builder in tests.families, input length, target).
USERS = {"deepstarr-sequential": ("deepstarr_like", 41, 0), "bpnet-residual-gap": ("bpnet_like", 40, 1)}


@pytest.fixture(scope="module")
def users_files(tmp_path_factory):
    import tests.families as families

    saved = {}
    for name, (builder, length, _) in USERS.items():
        original = getattr(families, builder)(outputs=2)
        folder = tmp_path_factory.mktemp(name)
        saved[name] = original, families.saved_as_users_files(folder, builder, original, length, outputs=2)
    return saved


@pytest.mark.parametrize("source", ["code", "pt2"])
@pytest.mark.parametrize("name", sorted(USERS))
def test_users_models_loaded_from_files_take_the_windowed_path(users_files, name, source):
    _, length, target = USERS[name]
    original, sources = users_files[name]
    model = load_model(**sources[source], device="cpu")
    assert isinstance(model, SequenceModel) and _has_plan(model, length)
    X = _sequences(3, length)
    assert_matches(ism_deltas(model, X, target=target, batch_size=2),
                   _brute_force_loop(original, X, target=target))


def test_a_fixed_batch_export_falls_back_to_brute_force(users_files):
    original, sources = users_files["bpnet-residual-gap"]
    model = load_model(**sources["fixed-batch pt2"], device="cpu")
    assert not _has_plan(model, 40)
    X = _sequences(2, 40)
    np.testing.assert_allclose(ism_deltas(model, X, target=1), _brute_force_loop(original, X, target=1),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["deepstarr-sequential", "even-same-concat-pool"])
def test_positions_run_together_give_the_same_deltas(name):
    build, length, target = FAMILIES[name]
    model = build()
    X = _sequences(2, length)
    bases = np.where((X == 1).any(axis=1), X.argmax(axis=1), 4)
    plan = fast_plan(model, X[:1], torch.device("cpu"))
    expected = _brute_force_loop(model, X, target=target, start=3, end=length - 2)
    with torch.inference_mode():
        for positions in (1, 3, 7, 64):  # passes that split the window unevenly, and one pass for all of it
            deltas = windowed_deltas(plan, torch.from_numpy(X), bases, target, "logit", 3, length - 2, positions)
            assert_matches(deltas.numpy(), expected)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_passes_on_two_workers_give_the_same_deltas_bit_for_bit(name):
    build, length, target = FAMILIES[name]
    model = build()
    X = _sequences(3, length)
    bases = np.where((X == 1).any(axis=1), X.argmax(axis=1), 4)
    plan = fast_plan(model, X[:1], torch.device("cpu"))
    with torch.inference_mode():
        one, two = (windowed_deltas(plan, torch.from_numpy(X), bases, target, "logit", 0, length, 2, workers)
                    for workers in (1, 2))
    np.testing.assert_array_equal(one.numpy(), two.numpy())
    assert_matches(two.numpy(), _brute_force_loop(model, X, target=target))


def test_deltas_do_not_depend_on_torch_threads_which_are_restored():
    model = bpnet_like(outputs=2)
    X = _sequences(3, 40)
    threads = torch.get_num_threads()
    try:
        results = []
        for count in (1, 2, 3):
            torch.set_num_threads(count)
            results.append(ism_deltas(model, X, target=1, device="cpu"))
            assert torch.get_num_threads() == count
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def test_map_on_cores_runs_items_at_once_on_single_threaded_workers_in_the_callers_mode():
    import threading

    from seqsal.attribution.parallel import map_on_cores, one_thread_per_operation

    barrier = threading.Barrier(2, timeout=30)  # broken unless two items really run at the same time

    def work(item):
        barrier.wait()
        return item, torch.get_num_threads(), torch.is_inference_mode_enabled(), threading.get_ident()

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with one_thread_per_operation(torch.device("cpu")), torch.inference_mode():
            assert torch.get_num_threads() == 1
            results = map_on_cores(work, [0, 1, 2, 3], workers=2)
        assert torch.get_num_threads() == 2
        assert [result[:3] for result in results] == [(item, 1, True) for item in range(4)]
        assert len({result[3] for result in results}) == 2
        with pytest.raises(ZeroDivisionError), one_thread_per_operation(torch.device("cpu")):
            map_on_cores(lambda item: 1 / item, [1, 0], workers=2)
        assert torch.get_num_threads() == 2  # restored after an error too
    finally:
        torch.set_num_threads(threads)


def test_dilated_strided_padded_max_pooling():
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv1d(4, 6, 5, padding=4, dilation=2), nn.ReLU(), nn.MaxPool1d(3, stride=2, padding=1, dilation=2),
        nn.Conv1d(6, 5, 3), nn.MaxPool1d(2, stride=3), nn.Flatten(), nn.Linear(5 * 5, 2),
    ).eval()
    for module in model:
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            module.weight.data *= 2.0
    assert _has_plan(model, 34)
    X = _sequences(3, 34)
    assert_matches(ism_deltas(model, X, target=1, batch_size=2), _brute_force_loop(model, X, target=1))
