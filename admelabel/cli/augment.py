"""The `admelabel augment` command."""
