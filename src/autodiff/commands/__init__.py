"""The commands as a library: one `prepare` and one derivative core shared by
grad, partial, hessian, jacobian, plot, taylor, verify and minimize; case files.
"""
