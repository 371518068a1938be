"""admelabel: pharmacokinetics paragraphs from FDA drug labels, labelled A, D, M, E or Other."""

__version__ = "0.1.0"

LABELS: tuple[str, ...] = ("Absorption", "Distribution", "Metabolism", "Excretion", "Other")
"""The five classes, in the fixed order used for label ids and tables."""

__all__ = ["LABELS", "__version__"]
