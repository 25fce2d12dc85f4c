"""The folder store: task models, parsing and validation, atomic files, results, the watcher.

Never imports textual or rich.
"""
