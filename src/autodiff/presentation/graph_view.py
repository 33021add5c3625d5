"""`autodiff graph` as a tree for people and as Graphviz DOT: each node of
the autograd graph with the subexpression it computes, numbered in the
order printed, the output marked.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from autodiff.presentation.lines import print_line
from autodiff.presentation.render import expression_text
from autodiff.text import format_number, point_text

def render_graph(result, console: Console) -> None:
    """`autodiff graph`: a title line with f and the point, then the grad_fn
    tree from the output (#1) back to the leaves, each node numbered in the
    order printed and shown beside the subexpression it computes; a node
    reached again is named, not expanded again (the graph is a DAG)."""
    from rich.tree import Tree

    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    title = f"f{arguments} = {expression_text(result.expression)} at {point_text(result.at)}"
    print_line(console, title)
    if result.output is None:
        print_line(console, f"f = {format_number(result.value)}", layout=True)  # no graph: stderr's warning says why
    else:
        by_id = {node.id: node for node in result.nodes}
        root = Tree(_graph_label(by_id[result.output], output=True))
        shown = {result.output}
        # Depth-first, a node at its first visit: the order of the ids (see autodiff.engine.tracing).
        stack = [(root, child) for child in reversed(by_id[result.output].inputs)]
        while stack:
            branch, node_id = stack.pop()
            node = by_id[node_id]
            if node_id in shown:
                branch.add(Text(f"#{node_id} {_graph_subject(node)}(shared: shown above)", style="dim"))
                continue
            shown.add(node_id)
            child = branch.add(_graph_label(node))
            stack.extend((child, input_id) for input_id in reversed(node.inputs))
        console.print(root)
    console.print(Text("leaves after backward:"))
    for name, info in result.leaves.items():
        grad = format_number(info["grad"]) if info["grad"] is not None else "None (no gradient path from the output)"
        print_line(console, f"  {name}: data={format_number(info['data'])}  requires_grad={info['requires_grad']}  "
                            f"is_leaf={info['is_leaf']}  grad={grad}")


def _graph_label(node, output: bool = False) -> Text:
    """`#2 x**2  PowBackward0  data=4 …`: number, subexpression, grad_fn, tensor."""
    if node.kind == "untracked":
        return Text(f"#{node.id} ∅ {_graph_subject(node)}{_untracked_kind(node)}", style="dim")
    label = Text(f"#{node.id} {_graph_subject(node)}{node.name}{' (output)' if output else ''}",
                 style="bold" if node.kind == "function" else "cyan")
    if node.tensor is not None:
        info = node.tensor
        grad = "None" if info["grad"] is None else format_number(info["grad"])
        grad_fn = "" if info["grad_fn"] == node.name else f" grad_fn={info['grad_fn']}"  # not the name twice
        label.append(f"  data={format_number(info['data'])} requires_grad={info['requires_grad']}"
                     f" is_leaf={info['is_leaf']}{grad_fn} grad={grad}")
    elif node.within is not None:
        label.append(f"  a step of {expression_text(node.within)}, with no tensor of its own")
    else:
        label.append("  no tensor of its own")
    return label


def _graph_subject(node) -> str:
    """The node's subexpression and two spaces, or nothing where it has none."""
    return "" if node.subexpression is None else f"{expression_text(node.subexpression)}  "


def _untracked_kind(node) -> str:
    if node.name.startswith("detach("):
        return "tracking stops"
    if "frozen" in node.name:  # a --frozen variable, or what is computed from frozen variables alone
        data = node.tensor.get("data") if node.tensor else None
        return ("frozen leaf, requires_grad=False" if node.variable else "from frozen variables, requires_grad=False") + (
            f"  data={format_number(data)}" if data is not None and not isinstance(data, list) else "")
    value = node.name.removeprefix("constant").strip()
    return "constant" if value in ("", node.subexpression) else f"constant {value}"


def _graph_title(node) -> str:
    return f"{node.variable} ({node.name})" if node.kind == "leaf" else node.name


def graph_dot(result) -> str:
    """Graphviz DOT: one node per grad_fn, leaf and untracked input; an edge
    from each input to the node that consumed it (the forward direction)."""
    lines = ["digraph autograd {", '  rankdir="BT";', '  node [shape=box, fontname="monospace"];']
    for node in result.nodes:
        parts = [_graph_title(node)]
        if node.kind == "function" and node.subexpression is not None:
            parts.insert(0, expression_text(node.subexpression))
        if node.tensor is not None:
            parts.append(f"data = {format_number(node.tensor['data'])}")
            if node.tensor["grad"] is not None:
                parts.append(f"grad = {format_number(node.tensor['grad'])}")
        style = {"leaf": ', style=filled, fillcolor="lightblue"', "untracked": ", style=dashed"}.get(node.kind, "")
        lines.append(f'  n{node.id} [label="{_dot_escape(chr(10).join(parts))}"{style}];')
    for source, target in result.edges():
        lines.append(f"  n{target} -> n{source};")
    lines.append("}")
    return "\n".join(lines)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
