"""Delivery health of live apps and the quality of the checks themselves (issue 26)."""
