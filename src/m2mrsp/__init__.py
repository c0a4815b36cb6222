"""m2mrsp: GSMA SGP.02 M2M Remote SIM Provisioning on real bytes, with timings.

The SM-DP, SM-SR and eUICC entities exchange only byte strings; every key, MAC, cipher text and
TLV is computed for real. See README.md for the two commands that run and test it.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
