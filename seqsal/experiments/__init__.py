"""Experiments that teach when explanations mislead: the planted-adapter shortcut and the gradient pitfalls.

Each trains its own small models on simulated data with a known answer, so
the numbers it reports can be checked against the truth.
"""
