"""A check report as JUnit XML (the schema Jenkins, GitLab and GitHub
reporters read), and the --junit file it is written to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from autodiff.commands.cases import CheckReport
from autodiff.errors import UsageError


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def junit_xml(report: CheckReport) -> str:
    """The report as JUnit XML (the schema Jenkins, GitLab and GitHub
    reporters read): one <testsuite> per file, one <testcase> per case,
    from the report's compact records."""
    import xml.etree.ElementTree as ET

    def counts(records: list[tuple]) -> dict:
        return {
            "tests": str(len(records)),
            "failures": str(sum(r[3] == "failed" for r in records)),
            "errors": str(sum(r[3] == "error" for r in records)),
            "skipped": str(sum(r[3] == "skipped" for r in records)),
            "time": f"{sum(r[2] for r in records):.6f}",
        }

    totals = counts(report.records)
    del totals["skipped"]  # not an attribute of <testsuites> in the JUnit XSD
    name = "autodiff check" + (f" (shard {report.shard[0]}/{report.shard[1]})" if report.shard else "")
    root = ET.Element("testsuites", {"name": name, **totals})
    for file in report.files:
        records = [r for r in report.records if r[0] == file]
        suite = ET.SubElement(root, "testsuite", {"name": _xml_text(file), **counts(records)})
        for _, name, seconds, outcome, message, reason, details in records:
            testcase = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": _xml_text(Path(file).stem if file != "<stdin>" else "stdin"),
                    "name": _xml_text(name),
                    "time": f"{seconds:.6f}",
                },
            )
            if outcome == "failed":
                element = ET.SubElement(testcase, "failure", {"message": _xml_text(message), "type": reason})
                element.text = _xml_text(details)
            elif outcome == "error":
                ET.SubElement(testcase, "error", {"message": _xml_text(message or ""), "type": "internal_error"})
            elif outcome == "skipped":
                ET.SubElement(testcase, "skipped", {"message": _xml_text(message or "skipped")})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def check_writable(path: str, inputs: Sequence[str] = ()) -> None:
    """Refuse a --junit path that cannot be written, or that is one of the
    case files, before any case runs."""
    from autodiff.files import refuse_overwriting_inputs

    refuse_overwriting_inputs("--junit", path, inputs)
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--junit {path} is a directory; name a file")
    if not target.parent.is_dir():
        raise UsageError(f"--junit {path}: the directory {target.parent} does not exist")


def write_junit(report: CheckReport, path: str) -> None:
    """The JUnit report, written whole or not at all (autodiff.files); a
    failed write is said in the report's warnings and its exit code (74),
    and the report itself is still printed."""
    from autodiff.files import write_atomically

    xml = junit_xml(report).encode("utf-8")
    try:
        write_atomically(path, lambda file: file.write(xml))
    except OSError as error:
        report.output_error = f"cannot write --junit {path}: {error.strerror or error}"
