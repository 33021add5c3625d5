"""The expression language: the function table, the parser (given an explicit scope
of definitions and declared derivatives), definitions and notation.
"""
