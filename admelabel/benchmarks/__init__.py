"""The IMDB and 20 Newsgroups benchmarks behind ``admelabel bench``.

``imdb`` and ``newsgroups`` load the datasets (downloading them with ``download``),
``imbalance`` builds the imbalanced training sets, ``runner`` compares the training
methods on them, and ``plots`` and ``embeddings`` draw the figures. The submodules
are imported on use, so importing this package stays cheap.
"""
