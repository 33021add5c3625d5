"""Fuzzing tools: input generators and the oracle shared by tests/test_fuzz.py
(the short campaign in every pytest run), campaign.py (a long one) and
atheris_harness.py (coverage-guided, needs `pip install atheris`)."""
