"""`autodiff graph`: the autograd graph from the output back to the leaves."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from helpers import invoke, invoke_json

from autodiff.commands import api


def kinds(report):
    return [(node["kind"], node["name"], node["variable"]) for node in report["nodes"]]


def test_graph_of_the_headline_expression():
    result, report = invoke_json("graph", "6*x^2+2*x+4", "--at", "x=3")
    assert result.exit_code == 0
    assert report["value"] == 64.0 and report["output"] == 1
    names = [node["name"] for node in report["nodes"]]
    assert names.count("AddBackward0") == 2 and names.count("MulBackward0") == 2
    assert names.count("PowBackward0") == 1
    leaves = [node for node in report["nodes"] if node["kind"] == "leaf"]
    assert len(leaves) == 1  # one x, reached twice (2*x and x^2): shown once
    assert leaves[0]["variable"] == "x" and leaves[0]["name"] == "AccumulateGrad"
    assert leaves[0]["tensor"] == {"data": 3.0, "requires_grad": True, "is_leaf": True, "grad_fn": None, "grad": 38.0}
    output = report["nodes"][0]
    assert output["tensor"] == {
        "data": 64.0, "requires_grad": True, "is_leaf": False, "grad_fn": "AddBackward0", "grad": 1.0,
    }
    constants = sorted(node["name"] for node in report["nodes"] if node["kind"] == "untracked")
    assert constants == ["constant 2", "constant 4", "constant 6"]
    # x^2 has data 9 and receives the gradient 6 from 6*x^2
    power = next(node for node in report["nodes"] if node["name"] == "PowBackward0")
    assert power["tensor"]["data"] == 9.0 and power["tensor"]["grad"] == 6.0
    # every edge joins two listed nodes, from consumer to input
    ids = {node["id"] for node in report["nodes"]}
    assert all(edge["from"] in ids and edge["to"] in ids for edge in report["edges"])
    assert len(report["edges"]) == sum(len(node["inputs"]) for node in report["nodes"])
    assert report["leaves"]["x"]["grad"] == 38.0


def test_detach_shows_where_tracking_stops():
    result, report = invoke_json("graph", "x^2 + detach(y)", "--at", "x=2,y=3")
    assert result.exit_code == 0
    assert kinds(report) == [  # depth-first, each input in its place: the order the tree prints
        ("function", "AddBackward0", None),
        ("function", "PowBackward0", None),
        ("leaf", "AccumulateGrad", "x"),
        ("untracked", "detach(y): tracking stops", None),
    ]
    assert report["leaves"]["x"]["grad"] == 4.0
    assert report["leaves"]["y"] == {"data": 3.0, "requires_grad": True, "is_leaf": True, "grad_fn": None, "grad": None}
    text = invoke("graph", "x^2 + detach(y)", "--at", "x=2,y=3").stdout
    assert text == """\
f(x, y) = x^2 + detach(y) at x = 2, y = 3
#1 x^2 + detach(y)  AddBackward0 (output)  data=7 requires_grad=True is_leaf=False grad=1
├── #2 x^2  PowBackward0  data=4 requires_grad=True is_leaf=False grad=1
│   └── #3 x  AccumulateGrad  data=2 requires_grad=True is_leaf=True grad_fn=None grad=4
└── #4 ∅ detach(y)  tracking stops
leaves after backward:
  x: data=2  requires_grad=True  is_leaf=True  grad=4
  y: data=3  requires_grad=True  is_leaf=True  grad=None (no gradient path from the output)
"""


def test_a_shared_subexpression_is_one_node():
    result, report = invoke_json("graph", "sin(x*x) + x*x", "--at", "x=1")
    powers = [node for node in report["nodes"] if node["name"] == "PowBackward0"]
    assert len(powers) == 1
    consumers = [edge["from"] for edge in report["edges"] if edge["to"] == powers[0]["id"]]
    assert len(consumers) == 2  # the sum and the sine both use x^2
    assert powers[0]["tensor"]["grad"] == pytest.approx(1 + __import__("math").cos(1.0))
    text = invoke("graph", "sin(x*x) + x*x", "--at", "x=1").stdout
    assert "#2 x^2  (shared: shown above)" in text


def test_vector_point_graph_has_list_data_and_grad():
    _, report = invoke_json("graph", "x^3", "--at", "x=[1,2]")
    leaf = next(node for node in report["nodes"] if node["kind"] == "leaf")
    assert leaf["tensor"]["data"] == [1.0, 2.0] and leaf["tensor"]["grad"] == [3.0, 12.0]


DOT_NODE = re.compile(r'^  n(\d+) \[label="((?:[^"\\]|\\.)*)"(?:, [a-z]+=(?:"[^"]*"|\w+))*\];$')
DOT_EDGE = re.compile(r"^  n(\d+) -> n(\d+);$")


def parse_dot(text: str):
    lines = text.strip().splitlines()
    assert lines[0] == "digraph autograd {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if line.strip().startswith(("rankdir", "node [")):
            continue
        if match := DOT_NODE.match(line):
            nodes[int(match.group(1))] = match.group(2)
        elif match := DOT_EDGE.match(line):
            edges.append((int(match.group(1)), int(match.group(2))))
        else:
            raise AssertionError(f"not a DOT node or edge: {line!r}")
    return nodes, edges


def test_dot_output_is_well_formed_and_matches_the_json():
    result = invoke("graph", "6*x^2+2*x+4", "--at", "x=3", "--format", "dot")
    assert result.exit_code == 0
    nodes, edges = parse_dot(result.stdout)
    _, report = invoke_json("graph", "6*x^2+2*x+4", "--at", "x=3")
    assert set(nodes) == {node["id"] for node in report["nodes"]}
    assert sorted(edges) == sorted((edge["to"], edge["from"]) for edge in report["edges"])  # input -> consumer
    assert nodes[1] == "6*x^2 + 2*x + 4\\nAddBackward0\\ndata = 64\\ngrad = 1"
    assert any(label.startswith("x^2\\nPowBackward0\\ndata = 9") for label in nodes.values())
    assert any(label.startswith("x (AccumulateGrad)\\ndata = 3\\ngrad = 38") for label in nodes.values())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_dot_output_renders_with_graphviz(tmp_path):
    result = invoke("graph", "6*x^2+2*x+4", "--at", "x=3", "--format", "dot")
    svg = subprocess.run(["dot", "-Tsvg"], input=result.stdout, capture_output=True, text=True, timeout=60, check=True)
    assert svg.stdout.lstrip().startswith(("<?xml", "<svg")) and "AddBackward0" in svg.stdout


def test_constant_output_has_no_graph():
    result, report = invoke_json("graph", "3 + detach(x)", "--at", "x=1")
    assert result.exit_code == 0
    assert report["nodes"] == [] and report["output"] is None
    assert "does not require grad" in report["warnings"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["graph", "x^2"], "graph needs a point to run the forward pass: add --at"),
        (["graph", "x^2 + y", "--at", "x=1"], "no value for y"),
        (["graph", "x^2", "--at", "x=1", "--format", "png"], "png"),
    ],
)
def test_graph_errors(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr or message in result.stdout


def test_deep_expression_does_not_recurse():
    text = "x" + "+sin(x)" * 300
    report = api.graph(text, at={"x": 0.5})
    assert report.leaves["x"]["grad"] == pytest.approx(1 + 300 * __import__("math").cos(0.5))


def test_the_output_may_be_a_leaf_itself():
    result, report = invoke_json("graph", "x", "--at", "x=1,y=2")
    assert result.exit_code == 0 and report["warnings"] == []
    assert kinds(report) == [("leaf", "AccumulateGrad", "x")]
    assert report["nodes"][0]["tensor"]["grad"] == 1.0 and report["leaves"]["y"]["grad"] is None


TREE_NODE = re.compile(r"^[│├└─ ]*#(\d+) (.*)$")


def tree_lines(text: str) -> list[tuple[int, str]]:
    """(number, rest) of each node line of the tree, in the order printed;
    COLUMNS is wide enough here that no node line wraps."""
    return [(int(match.group(1)), match.group(2)) for line in text.splitlines() if (match := TREE_NODE.match(line))]


HEADLINE_TREE = """\
f(x) = 6*x^2 + 2*x + 4 at x = 3
#1 6*x^2 + 2*x + 4  AddBackward0 (output)  data=64 requires_grad=True is_leaf=False grad=1
├── #2 2*x + 4  AddBackward0  no tensor of its own
│   ├── #3 ∅ 4  constant
│   └── #4 2*x  MulBackward0  data=6 requires_grad=True is_leaf=False grad=1
│       ├── #5 ∅ 2  constant
│       └── #6 x  AccumulateGrad  data=3 requires_grad=True is_leaf=True grad_fn=None grad=38
└── #7 6*x^2  MulBackward0  data=54 requires_grad=True is_leaf=False grad=1
    ├── #8 ∅ 6  constant
    └── #9 x^2  PowBackward0  data=9 requires_grad=True is_leaf=False grad=6
        └── #6 x  (shared: shown above)
leaves after backward:
  x: data=3  requires_grad=True  is_leaf=True  grad=38
"""


def test_each_node_shows_its_subexpression_beside_its_grad_fn():
    result = invoke("graph", "6*x^2+2*x+4", "--at", "x=3")
    assert result.exit_code == 0
    assert result.stdout == HEADLINE_TREE
    # the inner step of the three-term sum adds its first two terms
    _, report = invoke_json("graph", "6*x^2+2*x+4", "--at", "x=3")
    assert report["nodes"][1]["name"] == "AddBackward0" and report["nodes"][1]["tensor"] is None
    assert report["nodes"][1]["inputs"] == [3, 4]


def test_subexpressions_from_the_api():
    report = api.graph("x*y*sin(x*y) + log(x*y)", at={"x": 1, "y": 2})
    shown = [(node.name, node.subexpression) for node in report.nodes if node.kind == "function"]
    assert shown == [
        ("AddBackward0", "x*y*sin(x*y) + log(x*y)"),
        ("MulBackward0", "x*y*sin(x*y)"),
        ("MulBackward0", "x*y"),  # inside the product x*y*sin(x*y): no tensor of its own
        ("SinBackward0", "sin(x*y)"),
        ("MulBackward0", "x*y"),
        ("LogBackward0", "log(x*y)"),
    ]
    # x^y with a tensor exponent is several torch operations: the inner ones are steps of x**y
    power = api.graph("x^y", at={"x": 2, "y": 3})
    assert power.nodes[0].subexpression == "x**y" and power.nodes[0].within is None
    inner = [node for node in power.nodes if node.kind == "function" and node.tensor is None]
    assert inner and all(node.within == "x**y" and node.subexpression is None for node in inner)
    text = invoke("graph", "x^y", "--at", "x=2,y=3").stdout
    assert "ExpBackward0  a step of x^y, with no tensor of its own" in text


@pytest.mark.parametrize(
    ("expression", "at"),
    [
        ("6*x^2+2*x+4", "x=3"),
        ("x^2 + detach(y)", "x=2,y=3"),
        ("exp(sin(x)) + sin(x)", "x=1"),  # the shared sin(x) is first reached inside exp(...)
        ("x*sin(x*y)*y + log(x*y)", "x=1,y=2"),
        ("x^y + where(x > 1, x^2, 0) + 0.1*x + pi*x", "x=2,y=3"),
        ("x", "x=1"),
    ],
)
def test_the_tree_numbers_its_nodes_1_to_n_in_the_order_printed(expression, at):
    result = invoke("graph", expression, "--at", at, env={"COLUMNS": "400"})
    _, report = invoke_json("graph", expression, "--at", at)
    lines = tree_lines(result.stdout)
    first_lines = [(number, rest) for number, rest in lines if not rest.endswith("(shared: shown above)")]
    assert [number for number, _ in first_lines] == list(range(1, len(report["nodes"]) + 1))
    assert [node["id"] for node in report["nodes"]] == list(range(1, len(report["nodes"]) + 1))
    by_id = {node["id"]: node for node in report["nodes"]}
    printed = set()
    for number, rest in lines:
        if rest.endswith("(shared: shown above)"):
            assert number in printed, f"#{number} is named before it is shown"
            continue
        printed.add(number)
        node = by_id[number]
        if node["kind"] != "untracked":
            assert node["name"] in rest
        # no text twice on a line: the grad_fn's name appears once
        assert rest.count(node["name"]) == 1 or node["kind"] == "untracked"
    # the output, and only it, is marked
    assert "(output)" in lines[0][1] and lines[0][0] == 1
    assert sum("(output)" in rest for _, rest in lines) == 1
    assert result.stdout.splitlines()[0].endswith(" at " + at.replace("=", " = ").replace(",", ", "))


def test_the_output_mark_and_title_without_a_graph():
    result = invoke("graph", "3 + detach(x)", "--at", "x=1")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == ["f(x) = detach(x) + 3 at x = 1", "f = 4"]
    assert "(output)" not in result.stdout and "#1" not in result.stdout
