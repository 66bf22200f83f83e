"""The grader's memory is bounded before it reads (graders/nbgrader_plugins.py's
RobustExecute): a message from the kernel over the limit is refused as it arrives, unread;
a notebook's output as a whole is bounded too. Real sandboxed kernels."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from graders import sandbox
from graders.nbgrader_plugins import RobustExecute

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}"
)

#: Runs two notebooks one after the other with RobustExecute, as two students: one cell
#: displaying ``MIB`` MiB in one message, then an honest notebook; prints what each cell
#: kept, the problems noted and this (grading) process's peak resident memory.
GRADE_TWO = textwrap.dedent(
    """
    import json, resource, sys
    import nbformat
    from traitlets.config import Config
    from graders.nbgrader_plugins import RobustExecute

    mib, work = int(sys.argv[1]), sys.argv[2]
    def notebook(*cells):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        return nb
    hostile = notebook(
        "print('before')",
        "from IPython.display import display\\n"
        f"display({{'text/plain': 'x' * ({mib} << 20)}}, raw=True)",
        "print('after')",
    )
    honest = notebook("print(6 * 7)")
    config = Config({"RobustExecute": {"timeout": 60, "max_message_bytes": 1 << 20},
                     "Sandbox": {"memory_mb": 4096}})
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {}
    for name, nb in (("hostile", hostile), ("honest", honest)):
        resources = {"metadata": {"path": work}}
        nb, resources = RobustExecute(config=config).preprocess(nb, resources)
        out[name] = {
            "outputs": [[o.get("ename") or "".join(o.get("text", "")) for o in c.outputs]
                        for c in nb.cells],
            "problems": resources.get("dlgrade", {}).get("problems", []),
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["start_mib"], out["peak_mib"] = start / 1024, peak / 1024
    print(json.dumps(out))
    """
)


def test_a_message_over_the_limit_is_refused_unread_and_the_next_student_is_graded(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", GRADE_TWO, "200", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    hostile, honest = out["hostile"], out["honest"]
    assert hostile["outputs"] == [["before\n"], ["OutputRefused"], []]
    assert "larger than the limit of 1048576 bytes" in hostile["problems"][0]
    assert honest == {"outputs": [["42\n"]], "problems": []}
    # A 200 MiB message decoded costs the grader several times that; refused, nothing.
    assert out["peak_mib"] - out["start_mib"] < 100, out


def run_limited(tmp_path: Path, cells: list[str], **limits) -> tuple[nbformat.NotebookNode, dict]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    resources = {"metadata": {"path": str(tmp_path)}}
    executor = RobustExecute(config=Config({"RobustExecute": limits}))
    return executor.preprocess(nb, resources)


def test_the_cell_that_takes_the_notebook_past_its_output_limit_fails(tmp_path):
    """Many cells each under the per-cell limit: the one that crosses the notebook's limit
    fails with a message, later output is dropped, and the notebook's problems say why."""

    cells = [f"print('{i}' * 100_000)" for i in range(5)] + ["print('last')"]
    nb, resources = run_limited(
        tmp_path, cells, max_output_bytes=150_000, max_notebook_output_bytes=250_000
    )
    kinds = [[o.get("ename") or o.output_type for o in c.outputs] for c in nb.cells]
    assert kinds == [["stream"], ["stream"], ["OutputLimitExceeded"], [], [], []]
    assert "went over its limit of 250000 bytes" in nb.cells[2].outputs[0]["evalue"]
    assert resources["dlgrade"]["problems"] == [
        "The notebook's output went over its limit of 250000 bytes in cell 2: later output "
        "was dropped."
    ]


def test_the_course_sets_both_output_limits():
    from graders import course

    config = course.load_config(ROOT)
    executor = RobustExecute(config=config)
    assert executor.max_output_bytes == 16 << 20
    assert executor.max_notebook_output_bytes == 64 << 20
    assert executor.max_message_bytes == executor.message_limit() == 64 << 20


def test_an_output_nested_too_deeply_is_left_out_and_the_notebook_goes_on(tmp_path):
    # 900 levels: the kernel can still send it (deeper, its own JSON encoder refuses), and
    # copying it on the grader's side would recurse past Python's limit.
    nested = "v = 0\nfor _ in range(900):\n    v = [v]\n"
    nb, _ = run_limited(
        tmp_path,
        [
            nested + "from IPython.display import display\n"
            "display({'application/json': {'v': v}, 'text/plain': 'deep'}, raw=True)\n"
            "print('after')",
            "print('next cell')",
        ],
        timeout=60,
    )
    deep, after = nb.cells
    text = "".join("".join(o.get("text", "")) for o in deep.outputs)
    assert "nested more than" in text and "after" in text
    assert "".join(after.outputs[0]["text"]) == "next cell\n"


def test_the_notebooks_time_starts_with_its_first_cell_not_the_kernels_start(tmp_path):
    # Two cells of 1.5 s each under a 2.5 s notebook limit: the first runs whole however long
    # the kernel took to start, the second is cut at the limit.
    nb, resources = run_limited(
        tmp_path,
        ["import time; time.sleep(1.5); print('one')", "time.sleep(3); print('two')", "3"],
        notebook_timeout=3,
        timeout=30,
    )
    assert "".join(nb.cells[0].outputs[0]["text"]) == "one\n"
    printed = [o.get("text", "") for o in nb.cells[1].outputs if o["output_type"] == "stream"]
    assert "two\n" not in printed and nb.cells[2].outputs == []
    assert any("longer than its limit of 3 s" in p for p in resources["dlgrade"]["problems"])
