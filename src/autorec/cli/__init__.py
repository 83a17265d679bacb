"""The `autorec` command line."""
