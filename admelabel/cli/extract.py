"""The `admelabel extract` command."""
