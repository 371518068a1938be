"""The `admelabel train` command."""
