"""The witnesses that judge autograd: finite differences, the symbolic value, the
exact value in ball arithmetic, kinks, domains, declared derivatives, the verdict.
"""
