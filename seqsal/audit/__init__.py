"""Auditing a labelled dataset for shortcuts a model could learn instead of biology.

Each check asks one way the classes could be told apart without regulatory
grammar (adapters, k-mers, composition, length, duplicates across splits,
trivial baselines, and with a model its reliance on artifacts); the report
says which fired, with statistics corrected for multiple testing.
"""

from seqsal.audit.core import AuditResult, AuditThresholds, audit_dataset, write_audit

__all__ = ["AuditResult", "AuditThresholds", "audit_dataset", "write_audit"]
