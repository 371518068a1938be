"""The `admelabel annotate` command."""
