"""seqsal: explain DNA sequence models and check whether the explanation can be trusted."""

from seqsal.errors import SeqsalError

__version__ = "0.1.0"

__all__ = ["SeqsalError", "__version__"]
