"""Declared derivatives in autograd: a call of a function with a declared
derivative (a `language.declared.DeclaredCall` node) becomes a
`torch.autograd.Function` whose forward evaluates the definition's body and
whose backward is grad_output times each declared partial at the saved
arguments (see `autodiff.language.declared` for the representation).
"""

from __future__ import annotations

_FUNCTIONS: dict = {}


def torch_function(cls, compile_expressions):
    """The torch.autograd.Function of a DeclaredCall class (made once per
    definition); `compile_expressions` is the lowering that compiles its body
    and partials (passed in: the lowering is what calls this)."""
    function = _FUNCTIONS.get(cls)
    if function is None:
        if len(_FUNCTIONS) > 256:
            _FUNCTIONS.clear()
        function = _FUNCTIONS[cls] = _make_torch_function(cls.definition, compile_expressions)
    return function


def _make_torch_function(definition, compile_expressions):
    import torch

    params = definition.params
    body = compile_expressions([definition.body])
    partials = compile_expressions(definition.derivative)

    def forward(ctx, *args):
        ctx.save_for_backward(*args)
        shape = torch.broadcast_shapes(*(a.shape for a in args))
        value = body(dict(zip(params, args)), args[0].dtype).expand(shape)
        # An output that is an input or a view of one (f(t) = t) must be a tensor of its own.
        return value.clone() if value._is_view() or any(value is a for a in args) else value

    def backward(ctx, grad_output):
        args = ctx.saved_tensors
        values = partials.outputs(dict(zip(params, args)), grad_output.dtype)
        return tuple(
            _sum_to(grad_output * value, arg.shape) if needed else None
            for value, arg, needed in zip(values, args, ctx.needs_input_grad)
        )

    # Named as the definition: its grad_fn is `mylogBackward` in `autodiff graph`.
    return type(definition.name, (torch.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _sum_to(gradient, shape):
    return gradient if gradient.shape == shape else gradient.sum_to_size(shape)
