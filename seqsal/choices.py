"""Named choices that the library accepts and the command line offers.

Kept in a module that imports nothing heavy, so ``seqsal --help`` can list
them without importing torch; the library modules check that their registries
match these names (a test does too).
"""

#: Names of the models bundled with seqsal (``--model pu1``); ``seqsal.models.files.BUNDLED_MODELS`` has their files.
BUNDLED_MODEL_NAMES = ("default", "pu1")

#: Attribution methods, in the order ``--help`` lists them (``seqsal.attribution.METHODS`` has these keys).
METHODS = (
    "gradient", "saliency", "grad_x_input", "smoothgrad", "smoothgrad_sq", "integrated_gradients",
    "grad_cam", "cam", "deeplift_shap", "lime", "kernel_shap", "ism",
)

#: The methods the gradient correction (``correct=True``) changes.  ISM, CAM, LIME and KernelSHAP ignore it;
#: DeepLIFT-SHAP accepts it, but against one-hot references (each position's reference sums to 1 over the
#: bases) its hypothetical contributions ``m - sum(ref * m)`` are unchanged by centring ``m``.
CORRECTED_METHODS = ("gradient", "saliency", "grad_x_input", "smoothgrad", "smoothgrad_sq", "integrated_gradients")

#: Methods whose scores are magnitudes (|gradient|, squared gradients): every base of every position scores >= 0,
#: so they have neither a sign nor a preferred base.  Seqlets of them cannot be named and say nothing about direction,
#: so seqlet calls leave them out unless asked for by name or the only methods of a bundle.
UNSIGNED_METHODS = ("saliency", "smoothgrad_sq")

#: What attribution differentiates: the raw output or its sigmoid.
OUTPUTS = ("logit", "probability")

#: File formats for logos and figures.
FIGURE_FORMATS = ("png", "svg", "pdf")

#: Checks of ``seqsal evaluate``, in the order they run.
EVALUATION_CHECKS = ("deletion", "plausibility", "randomization", "stability")

#: How ``seqsal evaluate`` ranks positions: by signed score (evidence against the target last) or by magnitude.
SCORES = ("signed", "abs")

#: What replaces deleted bases on a deletion curve (``seqsal.evaluate.deletion``).
REPLACEMENTS = ("shuffle", "random", "uniform")

#: How ``seqsal dream`` turns free logits into the sequence the model reads.
DREAM_MODES = ("straight_through", "softmax")

#: Figure styles: ``screen`` sizes a figure to the sequence; ``paper`` to a 7.2-in journal column with 7-pt text.
FIGURE_STYLES = ("screen", "paper")

#: How ``seqsal tracks`` gives one value to bases that several explained windows cover (``seqsal.tracks``).
OVERLAP_RULES = ("midpoint", "mean")
