"""The contract with the provider: its terms and the pure arithmetic on them.

- ``terms``: ``ContractTerms.from_config(config)``, the terms the arithmetic needs;
- ``calendar``: counted time (24/7 or business hours with public holidays): how much of an
  interval counts, and when a duration of counted time has passed;
- ``public_holidays``: a year's public holidays from the `holidays` library (in a child
  process for the daemon), and the config's check of the country and subdivision;
- ``gtr``: when the GTR clock starts, when the repair is due, the counted repair time and
  the breach (``assess``);
- ``availability``: a month's availability as the contract counts it, against the commitment;
- ``compensation``: what is owed and the statement of how;
- ``wording``: the terms and figures in English or French.

No I/O but the public holidays' source: times (aware, UTC by convention) and intervals in,
figures out. Standard library only, but for the `holidays` library, imported on the first
question about a public holiday.
"""
