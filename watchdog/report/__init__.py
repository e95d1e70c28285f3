"""The claim file: a period's record of one link, as the document an office sends with its claim.

``period`` says which instants a report covers (a month, or ``--from``/``--to`` days in the
site's zone); ``days`` splits the period into the site's days; ``build`` gathers the figures
from the stdlib readers into one plain structure (``model``) whose JSON is the contract of
``--format json``; the text, CSV and HTML renderers and the SHA-256 digest read that same
structure, so every format tells the same figures.
"""
