"""The `admelabel fetch` command."""
