"""Is an explanation trustworthy? Faithfulness and plausibility metrics, their plots, and the bundle run.

Faithfulness asks whether the map shows what the model uses (deletion and
insertion curves, the model-randomization sanity check, stability under
noise); plausibility asks whether it matches known biology (AUROC of the map
against motif masks).  The metrics take plain arrays; ``run`` applies them to
an explain bundle and writes a report.
"""

from seqsal.evaluate.run import EvaluationSettings, evaluate_bundle

__all__ = ["EvaluationSettings", "evaluate_bundle"]
