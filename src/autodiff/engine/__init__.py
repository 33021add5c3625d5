"""The engine: one straight-line program compiler (torch tensors, plain floats,
balls), the value-and-derivatives core, symbolic differentiation, tracing.
"""
