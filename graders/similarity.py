"""Pairs of submissions whose answers are suspiciously alike, shown side by side.

A submission's *answer code* is every line of its notebooks' code cells that is nowhere in
the release (the graded answers, and cells the student added); code the release gives
everyone (stubs, docstrings, demos, tests) never counts. Pairs are compared with
copydetect's winnowing fingerprints, which read code as tokens with names and literals
filtered out, so renaming variables and moving independent lines around does not hide a
copy. A pair is flagged when the larger of its two overlaps (the share of one submission's
answer tokens found in the other) reaches the threshold.

``dlgrade similarity ASSIGNMENT`` prints the flagged pairs and writes an HTML page with each
pair's answer code side by side, the shared parts highlighted. Similar is not proof: the page
is for an instructor to read, and short exercises leave little room for different answers.
"""

from __future__ import annotations

import html
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: copydetect's noise threshold (shortest shared run of filtered tokens that counts) and
#: guarantee threshold (every shared run at least this long is found).
NOISE_TOKENS = 25
GUARANTEE_TOKENS = 30
DEFAULT_THRESHOLD = 0.6
#: A notebook larger than this is not read (its answers cannot be compared).
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024


@dataclass
class Submission:
    """One student's answer code for an assignment (all its notebooks)."""

    student: str
    code: str
    problem: str = ""


@dataclass
class Pair:
    """Two submissions and how much of each one's answer tokens the other shares."""

    first: str
    second: str
    overlap_first: float  # share of the first's answer tokens found in the second
    overlap_second: float
    shared_tokens: int
    slices_first: Any  # (2, N) starts and ends in the first's code
    slices_second: Any

    @property
    def similarity(self) -> float:
        return max(self.overlap_first, self.overlap_second)


def _code_cells(path: Path) -> list[str]:
    """Sources of a notebook's code cells (read as plain JSON, bounded, never executed)."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_NOTEBOOK_BYTES} bytes")
    data = json.loads(path.read_bytes().decode("utf-8-sig"))
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{path.name} is not a notebook")
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        out.append(str(source))
    return out


def release_code(root: Path, assignment: str) -> dict[str, list[str]]:
    """The release's code cells, by notebook file name."""
    folder = Path(root) / "release" / assignment
    return {nb.name: _code_cells(nb) for nb in sorted(folder.glob("*.ipynb"))}


def answer_code(folder: Path, release: dict[str, list[str]]) -> str:
    """The code a student wrote: the lines of their notebooks' code cells that are nowhere
    in the release (stubs, docstrings, demos and tests given to everyone are left out)."""
    given = {
        line.strip() for cells in release.values() for cell in cells for line in cell.splitlines()
    }
    parts = []
    for name in sorted(release):
        path = folder / name
        if not path.is_file() or path.is_symlink():
            continue
        for cell in _code_cells(path):
            own = [line for line in cell.splitlines() if line.strip() and line.strip() not in given]
            if own:
                parts.append("\n".join(own))
    return "\n\n".join(parts) + "\n"


def read_class(root: Path, assignment: str) -> list[Submission]:
    """Every submitted student's answer code; a notebook that cannot be read is noted."""
    release = release_code(root, assignment)
    out = []
    submitted = Path(root) / "submitted"
    students = sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())
    for student in students:
        try:
            out.append(Submission(student, answer_code(submitted / student / assignment, release)))
        except (OSError, ValueError) as exc:
            out.append(Submission(student, "", problem=str(exc)))
    return out


def _fingerprint(code: str, boilerplate: Any) -> Any:
    from copydetect import CodeFingerprint

    return CodeFingerprint(
        "answers.py",
        NOISE_TOKENS,
        GUARANTEE_TOKENS - NOISE_TOKENS + 1,
        boilerplate=boilerplate,
        language="python",
        fp=io.StringIO(code),
    )


def compare_class(root: Path, assignment: str) -> tuple[list[Pair], list[Submission]]:
    """Every pair of submissions with their overlaps, most similar first; and the class."""
    from copydetect import compare_files

    release = release_code(root, assignment)
    given = "\n\n".join(cell for cells in release.values() for cell in cells) + "\n"
    boilerplate = np.array(sorted(_fingerprint(given, None).hashes))
    subs = read_class(root, assignment)
    prints = {s.student: _fingerprint(s.code, boilerplate) for s in subs if s.code.strip()}
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        shared, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        pairs.append(Pair(a, b, float(sim_a), float(sim_b), int(shared), slices_a, slices_b))
    pairs.sort(key=lambda p: (-p.similarity, p.first, p.second))
    return pairs, subs


def flagged(pairs: list[Pair], threshold: float = DEFAULT_THRESHOLD) -> list[Pair]:
    """The pairs whose similarity reaches ``threshold`` (0 to 1)."""
    return [p for p in pairs if p.similarity >= threshold]


def _highlighted(code: str, slices: Any) -> str:
    """``code`` as HTML, the shared parts marked (escaped; copydetect's slices)."""
    slices = np.asarray(slices)
    if slices.size == 0:
        return html.escape(code)
    out, at = [], 0
    for start, end in sorted(zip(slices[0].tolist(), slices[1].tolist(), strict=True)):
        start, end = max(start, at), max(end, at)
        out.append(html.escape(code[at:start]))
        out.append(f"<mark>{html.escape(code[start:end])}</mark>")
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


def write_page(
    out: Path, assignment: str, pairs: list[Pair], subs: list[Submission], threshold: float
) -> Path:
    """The HTML page of the flagged ``pairs`` (student text escaped)."""
    from graders.pages import template

    code = {s.student: s.code for s in subs}
    shown = [
        {
            "first": p.first,
            "second": p.second,
            "overlap_first": p.overlap_first,
            "overlap_second": p.overlap_second,
            "first_html": _highlighted(code[p.first], p.slices_first),
            "second_html": _highlighted(code[p.second], p.slices_second),
        }
        for p in pairs
    ]
    text = template("similarity.html.j2").render(
        assignment=assignment,
        pairs=shown,
        threshold=threshold,
        unreadable=[s for s in subs if s.problem],
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def similarity(
    root: Path, assignment: str, out: Path, threshold: float = DEFAULT_THRESHOLD
) -> list[Pair]:
    """Compare a class's submissions, write the page of flagged pairs to ``out``, and return
    the flagged pairs (most similar first)."""
    pairs, subs = compare_class(root, assignment)
    hits = flagged(pairs, threshold)
    write_page(out, assignment, hits, subs, threshold)
    return hits
