"""`autodiff graph`: the autograd graph from the output back to the leaves."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from helpers import invoke, invoke_json

from autodiff import api


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
    assert kinds(report) == [
        ("function", "AddBackward0", None),
        ("untracked", "detach(y): tracking stops", None),
        ("function", "PowBackward0", None),
        ("leaf", "AccumulateGrad", "x"),
    ]
    assert report["leaves"]["x"]["grad"] == 4.0
    assert report["leaves"]["y"] == {"data": 3.0, "requires_grad": True, "is_leaf": True, "grad_fn": None, "grad": None}
    text = invoke("graph", "x^2 + detach(y)", "--at", "x=2,y=3").stdout
    assert text == """\
f(x, y) = x**2 + detach(y)
at x = 2, y = 3
f = 7
AddBackward0 #1  data=7 requires_grad=True is_leaf=False grad_fn=AddBackward0 grad=1
├── PowBackward0 #3  data=4 requires_grad=True is_leaf=False grad_fn=PowBackward0 grad=1
│   └── x (AccumulateGrad) #4  data=2 requires_grad=True is_leaf=True grad_fn=None grad=4
└── ∅ detach(y): tracking stops
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
    assert "PowBackward0 #2 (shared: shown above)" in text


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
    assert nodes[1] == "AddBackward0\\ndata = 64\\ngrad = 1"
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
