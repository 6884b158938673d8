"""Views of what a model learned as a whole, not per sequence: first-layer filters and dreamed sequences.

``filter_layer`` finds the first layer in a model's graph, ``filter_sites``
aligns the windows each first-layer filter fires on into PFMs,
``filter_matching`` names them by Tomtom against a motif database, and
``filters`` draws their logos and writes a ``seqsal filters`` folder.
``dream`` optimises sequences that maximise an output; ``dream_run`` puts them
in context (known motifs, real sequences' scores, logos) and writes a
``seqsal dream`` folder.
"""
