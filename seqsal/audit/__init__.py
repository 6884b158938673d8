"""Auditing a labelled dataset for shortcuts a model could learn instead of biology.

Each check asks one way the classes could be told apart without regulatory
grammar, one module each: adapters (:mod:`.adapters`, aligned by
:mod:`.alignment`), k-mers (:mod:`.enrichment`), composition
(:mod:`.composition`), duplicates and genomic overlap across splits
(:mod:`.leakage`, :mod:`.overlap`), trivial baselines (:mod:`.baselines`) and,
with a model, its reliance on artifacts (:mod:`.model_check`).  Library flanks
shared by every record are found first and kept out of the class tests
(:mod:`.flanks`).  The dataset (:mod:`.data`), its one counting pass
(:mod:`.profile`, :mod:`.kmers`, :mod:`.sketch`) and the statistics
(:mod:`.stats`) are shared; :mod:`.run` runs the checks, :mod:`.findings` holds
what they report and :mod:`.report` writes it.
"""

from seqsal.audit.findings import AuditResult, AuditThresholds
from seqsal.audit.report import write_audit
from seqsal.audit.run import audit_dataset

__all__ = ["AuditResult", "AuditThresholds", "audit_dataset", "write_audit"]
