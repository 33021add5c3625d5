"""Presentation: tables, JSON, charts and per-command views of the results.
It reads result dataclasses and computes nothing.
"""
