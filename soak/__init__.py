"""The robustness suite: the faults a watchdog meets in the field, each counted.

One module per suite (``crash``, ``receivers``, ``loss``, ``hostile``, ``bad_input``,
``disk``), each a function of a size: ``short`` runs in ``make test`` (tests/soak), ``long``
in ``make soak`` (``python -m soak``). Every suite prints its figures as a small table; the
long run writes them all to ``soak/results/<UTC date>.json``. ``suites`` lists them;
``figures`` holds the table and its verdicts. Secrets are grepped in every suite's captured
output (``testbed/leaks.py``).
"""
