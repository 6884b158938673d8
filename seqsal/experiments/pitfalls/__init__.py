"""Where gradient explanations mislead: four small, reproducible demonstrations.

Each pitfall is a library function that returns numbers (a result object
whose ``table()`` is a ``metric, condition, value`` frame) and a plotting
function that draws them; ``seqsal pitfalls <name>`` writes both with a
manifest (:mod:`~seqsal.experiments.pitfalls.run`).  One module per pitfall:

- :mod:`~seqsal.experiments.pitfalls.saturation`: explaining the probability
  instead of the logit shrinks every map by ``σ'(logit)``.
- :mod:`~seqsal.experiments.pitfalls.activations`: the first-layer
  activation (ReLU, leaky ReLU, exponential) decides how clean maps are.
- :mod:`~seqsal.experiments.pitfalls.off_simplex`: the gradient component
  along ``(1, 1, 1, 1)`` that no real sequence change follows.
- :mod:`~seqsal.experiments.pitfalls.fully_connected`: a dense network next
  to a CNN on the same data.
- :mod:`~seqsal.experiments.pitfalls.constant_flanks`: attribution on library
  adapters that never vary in the training data (real lentiMPRA data).

:mod:`~seqsal.experiments.pitfalls.compare` holds what the two training
pitfalls share (data, seeding, training, scoring, the figure), and
:mod:`~seqsal.experiments.pitfalls.table` the table format of all four.
Training uses :func:`seqsal.train.fit` for every model, with one seed for the
simulation, the initial weights and the batch order, so two runs with the
same arguments give the same numbers (on the CPU).
"""

from seqsal.experiments.pitfalls.activations import ACTIVATIONS, activations
from seqsal.experiments.pitfalls.compare import (
    ComparisonResult,
    SimulatedData,
    background_share,
    compare_models,
    plot_comparison,
    seeded,
    simulate_data,
    small_cnn_config,
)
from seqsal.experiments.pitfalls.constant_flanks import (
    FLANK_METHODS,
    ConstantFlanksResult,
    constant_flanks,
    constant_positions,
    plot_constant_flanks,
)
from seqsal.experiments.pitfalls.fully_connected import DenseConfig, FullyConnected, fully_connected
from seqsal.experiments.pitfalls.off_simplex import (
    ISOTROPIC_MEDIAN_DEG,
    OffSimplexResult,
    isotropic_angle_cdf,
    off_simplex,
    plot_off_simplex,
    simplex_angle,
)
from seqsal.experiments.pitfalls.run import (
    PITFALLS,
    PitfallRun,
    default_fasta,
    finish_output,
    load_sequences,
    run_pitfall,
    start_output,
)
from seqsal.experiments.pitfalls.saturation import SaturationResult, plot_saturation, saturation, sigmoid_derivative
from seqsal.experiments.pitfalls.table import TABLE_COLUMNS

__all__ = [
    "ACTIVATIONS", "ComparisonResult", "ConstantFlanksResult", "FLANK_METHODS", "constant_flanks",
    "constant_positions", "plot_constant_flanks", "DenseConfig", "FullyConnected", "ISOTROPIC_MEDIAN_DEG", "OffSimplexResult",
    "PITFALLS", "PitfallRun", "SaturationResult", "SimulatedData", "TABLE_COLUMNS", "activations",
    "background_share", "compare_models", "default_fasta", "finish_output", "fully_connected",
    "isotropic_angle_cdf", "load_sequences", "off_simplex", "plot_comparison", "plot_off_simplex",
    "plot_saturation", "run_pitfall", "saturation", "seeded", "sigmoid_derivative", "simplex_angle",
    "simulate_data", "small_cnn_config", "start_output",
]
