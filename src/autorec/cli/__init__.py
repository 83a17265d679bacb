"""The `autorec` command line: thin commands that parse, call the package, and print one line on error."""
