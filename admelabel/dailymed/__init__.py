"""DailyMed access: the web-services client, release zips and local sources, and the corpus store.

The corpus API that other commands use:

- ``resolve_home(data_dir=None)``: ``--data-dir``, else ``$ADMELABEL_HOME``, else ``./data``.
- ``open_corpus(home=None, readonly=False)`` returns a ``Corpus`` with ``iter_labels``,
  ``path_for(set_id, version=None)`` and ``counts``.
- ``iter_corpus_inputs(home=None, set_ids=None)`` yields the stored labels as ``SPLInput``
  documents, like ``admelabel.spl.sources.iter_spl_inputs`` does for paths.
- ``iter_inputs(arguments, home=None)`` accepts paths mixed with ``corpus:`` (every label)
  and ``corpus:SETID[,SETID...]``, so a command can take the corpus as its input.
"""

from admelabel.dailymed.store import CORPUS_PREFIX, Corpus, LabelRecord, iter_corpus_inputs, iter_inputs, open_corpus, resolve_home

__all__ = ["CORPUS_PREFIX", "Corpus", "LabelRecord", "iter_corpus_inputs", "iter_inputs", "open_corpus", "resolve_home"]
