"""The `admelabel bench` command."""
