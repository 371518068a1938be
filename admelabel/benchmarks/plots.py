"""Benchmark plots: per-class F1, F1 against the imbalance ratio, and t-SNE of augmented versus original examples.

Every figure is written atomically as PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_per_class_f1", "plot_sweep", "plot_tsne", "tsne_points"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> Path:
    from admelabel.io import atomic_write

    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    return path


def plot_per_class_f1(
    summary: Mapping[str, Mapping[str, Any]],
    labels: Sequence[str],
    path: str | Path,
    *,
    title: str = "Per-class F1",
) -> Path:
    """Plot the mean per-class F1 of each method as horizontal bars with SEM error bars.

    ``summary`` is ``ComparisonReport.summary()``: per method, ``per_class_f1`` maps each
    label to ``{"mean", "sem"}``. Classes run down the y-axis, so 20 class names stay
    readable. Returns ``path``.
    """
    plt = _pyplot()
    methods = list(summary)
    height = 0.8 / max(1, len(methods))
    positions = np.arange(len(labels))
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.32 * len(labels) * max(1, len(methods)) ** 0.5))
    for offset, method in enumerate(methods):
        scores = summary[method]["per_class_f1"]
        means = [scores[label]["mean"] for label in labels]
        errors = [scores[label]["sem"] for label in labels]
        axes.barh(positions + offset * height, means, height, xerr=errors, label=method, capsize=2)
    axes.set_yticks(positions + height * (len(methods) - 1) / 2, labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("F1 (mean ± SEM over seeds)")
    axes.set_title(title)
    axes.legend(fontsize="small", loc="lower right")
    figure.tight_layout()
    try:
        return _save(figure, Path(path))
    finally:
        plt.close(figure)


def plot_sweep(
    points: Mapping[str, Sequence[tuple[float, float, float]]],
    path: str | Path,
    *,
    metric: str = "micro-F1",
    title: str = "F1 against the imbalance ratio",
    xlabel: str = "imbalance ratio rho = min(N) / max(N)",
) -> Path:
    """Plot one line per method of (ratio, mean, SEM) points, with SEM error bars.

    ``points`` maps a method name to its ``(ratio, mean, sem)`` triples. Returns ``path``.
    Raises ``ValueError`` when ``points`` is empty.
    """
    if not points:
        raise ValueError("plot_sweep needs at least one method's points")
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    for method, triples in points.items():
        ordered = sorted(triples)
        ratios = [ratio for ratio, _, _ in ordered]
        means = [mean for _, mean, _ in ordered]
        errors = [sem for _, _, sem in ordered]
        axes.errorbar(ratios, means, yerr=errors, marker="o", capsize=3, label=method)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(f"{metric} (mean ± SEM over seeds)")
    axes.set_title(title)
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    try:
        return _save(figure, Path(path))
    finally:
        plt.close(figure)


def tsne_points(embeddings: np.ndarray, *, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """Project embeddings to 2-D with ``sklearn.manifold.TSNE``.

    The perplexity is lowered to ``(n - 1) / 3`` when there are too few points for the
    requested one, because TSNE requires perplexity < n. Raises ``ValueError`` for
    fewer than 3 points.
    """
    from sklearn.manifold import TSNE

    count = len(embeddings)
    if count < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {count}")
    perplexity = min(perplexity, (count - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(np.asarray(embeddings, dtype=np.float32))


def plot_tsne(
    augmented: np.ndarray,
    original: np.ndarray,
    path: str | Path,
    *,
    augmented_labels: Sequence[str] | None = None,
    original_labels: Sequence[str] | None = None,
    seed: int = 0,
    title: str = "Augmented vs held-out original examples (t-SNE)",
) -> Path:
    """Plot a joint t-SNE of augmented and held-out original embeddings.

    Both sets are projected together, so distances between them are comparable.
    Augmented points are crosses and original points circles; with labels, the
    colour is the class. Returns ``path``.
    """
    coordinates = tsne_points(np.vstack([augmented, original]), seed=seed)
    split = len(augmented)
    classes = sorted(set(augmented_labels or []) | set(original_labels or []))
    colours = {label: index for index, label in enumerate(classes)}

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 5))
    cmap = plt.get_cmap("tab20")
    for points, labels, marker, name in (
        (coordinates[:split], augmented_labels, "x", "augmented"),
        (coordinates[split:], original_labels, "o", "original (held out)"),
    ):
        colour = [cmap(colours[label] % 20) for label in labels] if labels else None
        axes.scatter(points[:, 0], points[:, 1], c=colour, marker=marker, s=18, alpha=0.7, label=name)
    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(fontsize="small")
    figure.tight_layout()
    try:
        return _save(figure, Path(path))
    finally:
        plt.close(figure)
