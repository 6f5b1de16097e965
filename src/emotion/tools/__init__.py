"""The command-line tools behind `python -m emotion <command>`."""
