"""Spiders: the SPSE platform logic once (spse.py), instances as data (instances.py)."""
