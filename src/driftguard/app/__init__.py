"""The application layer: plain functions that do each command's work.

They wire the sources, the pure core and the writers; ``cli/*_cmd.py`` only turn arguments into a
call and a result into output. Nothing here prints: messages for a person go through a callback.
"""
