"""Views of what a model learned as a whole, not per sequence: first-layer filters and dreamed sequences."""
