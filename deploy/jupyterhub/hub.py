#!/usr/bin/env python3
"""The course's JupyterHub on one machine: ``python3 deploy/jupyterhub/hub.py start`` (as root).

``start`` sets everything up, then runs the hub in the foreground and prints its URL; Ctrl-C
(or ``hub.py stop`` from another terminal) stops the hub, its proxy and every user's server.
What it sets up, each step idempotent (a second start reuses what the first made):

- a Python environment that every account can read, under ``--prefix`` (``/opt/dlgrade-hub``):
  JupyterHub, JupyterLab, nbgrader and the course's pinned packages (``constraints.txt``),
  with the *kernel side* of the ``graders`` package only (what the notebooks import); built
  once and reused while ``constraints.txt`` and ``pyproject.toml`` are unchanged;
- the proxy (``configurable-http-proxy``, pinned by ``package-lock.json``) in the same prefix,
  with Node.js from the system's packages where it is missing;
- local accounts: one instructor (group ``dlgrade-instructors``) and the students of a roster
  (group ``dlgrade-students``), home folders readable by their owner only; PAM logs them in;
- nbgrader's exchange, ``<state>/exchange``: the root writable by all with the sticky bit,
  the course's folder in it owned by the instructor (so no student can take it over);
- the instructor's course: a copy of this repository in ``~<instructor>/course`` (made once,
  never overwritten: it holds the gradebook), the formgrader and the ``dlgrade`` command;
  students get the assignment list and validation, not the formgrader;
- the hub's configuration and database under ``--state`` (``/srv/dlgrade-hub``).

Only the standard library is used here: the script runs on a fresh machine before any
environment exists. ``README.md`` (section "Running a course on JupyterHub") and
``deploy/jupyterhub/README.md`` say how to run a course with it.
"""

from __future__ import annotations

import argparse
import csv
import grp
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_PREFIX = Path("/opt/dlgrade-hub")
DEFAULT_STATE = Path("/srv/dlgrade-hub")
INSTRUCTORS_GROUP = "dlgrade-instructors"
STUDENTS_GROUP = "dlgrade-students"
#: The modules of ``graders`` that notebooks import, directly or through each other: all
#: a student's kernel needs (public checks, the probe, data loaders, the shipped weights).
#: The judge, the sandbox and the instructor's tools stay in the instructor's course folder.
KERNEL_SIDE = (
    "__init__.py",
    "cases",
    "checks.py",
    "compare.py",
    "data.py",
    "encoding.py",
    "faces.py",
    "models.py",
    "pretrain.py",
    "probe.py",
    "quiet.py",
    "series.py",
    "shapes.py",
    "weights",
)
#: nbgrader's extensions that only the instructor gets (server side and JupyterLab side).
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
INSTRUCTOR_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
#: JupyterLab defaults for everyone: no pop-up asking to fetch news or check for updates.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    }
}
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class HubError(Exception):
    """A problem the person running the hub can fix; the message says how."""


@dataclass
class Settings:
    """What the hub's configuration (``jupyterhub_config.py``) reads, from
    ``<state>/settings.json``."""

    prefix: str
    state: str
    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    instructor: str
    course_dir: str
    course_id: str
    #: Whether the instructor's server lets its own pages embed it (the formgrader's panel
    #: in JupyterLab); see deploy/jupyterhub/README.md, "The formgrader and JupyterHub 4.1+".
    formgrader_in_lab: bool = True

    @property
    def env(self) -> Path:
        return Path(self.prefix) / "env"

    @property
    def instructor_config(self) -> Path:
        """Jupyter configuration that only the instructor's server reads."""
        return Path(self.state) / "instructor-config"

    @property
    def exchange(self) -> Path:
        return Path(self.state) / "exchange"


def log(message: str) -> None:
    """A progress line for the person running the hub."""
    print(f"[dlgrade-hub] {message}", flush=True)


def run(command: Sequence[str | os.PathLike], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, raising :class:`HubError` with its output when it fails."""
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, check=False, **kwargs
    )
    if result.returncode != 0:
        raise HubError(
            f"`{' '.join(str(c) for c in command)}` failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-4000:]}"
        )
    return result


def require_root() -> None:
    if os.geteuid() != 0:
        raise HubError("run this as root (it creates accounts and starts servers as them)")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- system packages -------------------------------------------------------------------


def apt_install(packages: Sequence[str]) -> None:
    """Install Debian/Ubuntu packages, or say which to install where there is no apt."""
    if not shutil.which("apt-get"):
        raise HubError(f"install {' '.join(packages)} with your system's package manager")
    log(f"installing {' '.join(packages)} (apt-get) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", *packages], env=env)


def runs_as(user: str, command: Sequence[str]) -> bool:
    """Whether ``command`` succeeds when run as ``user`` (no login shell)."""
    result = subprocess.run(
        ["runuser", "-u", user, "--", *command], capture_output=True, check=False, cwd="/"
    )
    return result.returncode == 0


def grading_python() -> Path | None:
    """The Python of the course's grading environment (``.venv``, made by ``./run``)."""
    cfg = REPO / ".venv" / "pyvenv.cfg"
    if not cfg.exists():
        return None
    found = re.search(r"^executable\s*=\s*(.+)$", cfg.read_text(), re.MULTILINE)
    return Path(found.group(1).strip()) if found else None


def find_python(prefix: Path, wanted: str | None) -> Path:
    """A Python 3.11 that every account can run, to build the environment with.

    ``wanted`` (``--python``) first, then the Python of the grading environment (``.venv``:
    the same numerics as grading), the Python running this script, ``python3.11`` on the
    PATH. One that only root can run (installed in root's home, say) is copied into
    ``<prefix>/python`` and made readable. Where there is none, Debian's ``python3.11`` is
    installed (the pinned packages may need a newer 3.11 than a distribution ships: some
    want 3.11.5 or later)."""
    check = ["-c", "import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)"]
    candidates = [wanted] if wanted else []
    candidates += [grading_python(), sys.executable, shutil.which("python3.11")]
    seen: set[Path] = set()
    for candidate in filter(None, candidates):
        path = Path(candidate).resolve()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        if not runs_as("root", [str(path), *check]):
            continue
        if runs_as("nobody", [str(path), *check]):
            return path
        return copy_python(path, prefix / "python")
    apt_install(["python3.11", "python3.11-venv"])
    return Path("/usr/bin/python3.11")


def copy_python(python: Path, dest: Path) -> Path:
    """Copy the installation of ``python`` (its ``sys.base_prefix``, without its own
    site-packages and test suite) to ``dest``, readable by all; an interpreter linked to its
    ``libpython`` by an absolute path is pointed at the copy's (patchelf)."""
    info = "import sys; print(sys.base_prefix); print('%d.%d' % sys.version_info[:2])"
    base_text, version = run([python, "-c", info]).stdout.split()
    base = Path(base_text)
    exe = dest / "bin" / f"python{version}"
    stamp = dest / ".copied-from"
    if stamp.exists() and stamp.read_text() == str(python) and exe.exists():
        return exe
    log(f"copying the Python installation in {base} (only root can run it) to {dest} ...")
    started = time.monotonic()
    shutil.rmtree(dest, ignore_errors=True)
    lib = base / "lib" / f"python{version}"

    def ignore(folder: str, names: list[str]) -> list[str]:
        if Path(folder) == lib:
            return [n for n in names if n in ("test", "__pycache__")]
        if Path(folder) == lib / "site-packages":
            return names
        return [n for n in names if n == "__pycache__"]

    shutil.copytree(base, dest, symlinks=True, ignore=ignore)
    run(["chmod", "-R", "a+rX", dest])
    if str(base) in run(["ldd", exe]).stdout:
        if not shutil.which("patchelf"):
            apt_install(["patchelf"])
        run(["patchelf", "--set-rpath", "$ORIGIN/../lib", exe])
    if not runs_as("nobody", [str(exe), "-c", "import venv, ensurepip, ssl, sqlite3"]):
        raise HubError(f"the copy of Python in {dest} does not run; pass --python")
    stamp.write_text(str(python))
    log(f"Python copied in {time.monotonic() - started:.0f} s")
    return exe


# --- the environment -------------------------------------------------------------------


def requirements() -> list[str]:
    """What the hub's environment installs: the course's dependencies and the hub's
    (``pyproject.toml``), each pinned by ``constraints.txt``."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["hub"]]


def environment_stamp(python: Path) -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((REPO / name).read_bytes())
    digest.update(str(python).encode())
    return digest.hexdigest()


def build_environment(prefix: Path, python: Path) -> None:
    """``<prefix>/env``: a virtual environment readable by every account, built once per
    version of ``constraints.txt`` and ``pyproject.toml`` (a stamp records which)."""
    env = prefix / "env"
    stamp = prefix / ".env-installed"
    want = environment_stamp(python)
    if stamp.exists() and stamp.read_text() == want and (env / "bin" / "jupyterhub").exists():
        return
    log(f"building the course's Python environment in {env} (a few minutes, once) ...")
    started = time.monotonic()
    stamp.unlink(missing_ok=True)
    run([python, "-m", "venv", "--clear", env])
    pip = [env / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-input"]
    run([*pip, "--upgrade", "pip"])
    run([*pip, "-c", REPO / "constraints.txt", *requirements()])
    stamp.write_text(want)
    log(f"environment ready in {time.monotonic() - started:.0f} s")


def install_kernel_side(env: Path) -> None:
    """Copy the kernel side of ``graders`` (:data:`KERNEL_SIDE`) into the environment,
    replacing what an earlier start put there."""
    site = next((env / "lib").glob("python3.*/site-packages"))
    target = site / "graders"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in KERNEL_SIDE:
        source = REPO / "graders" / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    run([env / "bin" / "python", "-m", "compileall", "-q", target])


def install_proxy(prefix: Path) -> Path:
    """configurable-http-proxy from npm, at the version ``package-lock.json`` pins, in
    ``<prefix>/node``; Node.js and npm from the system's packages where they are missing."""
    if not (shutil.which("node") and shutil.which("npm")):
        apt_install(["nodejs", "npm"])
    node = prefix / "node"
    proxy = node / "node_modules" / ".bin" / "configurable-http-proxy"
    lock = (HERE / "package-lock.json").read_bytes()
    if proxy.exists() and (node / "package-lock.json").read_bytes() == lock:
        return proxy
    log("installing configurable-http-proxy (npm) ...")
    node.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(HERE / name, node / name)
    run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node)
    return proxy


def jupyter_settings(settings: Settings) -> None:
    """Jupyter's configuration for everyone (in the environment) and for the instructor's
    server only (``<state>/instructor-config``, on its ``JUPYTER_CONFIG_PATH``)."""
    etc = settings.env / "etc" / "jupyter"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(
        '"""nbgrader settings of every account: the course and its exchange."""\n\n'
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {settings.course_id!r}\n"
        f"c.Exchange.root = {str(settings.exchange)!r}\n"
    )
    write_json(
        etc / "jupyter_server_config.json",
        {"ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)}},
    )
    write_json(
        etc / "labconfig" / "page_config.json",
        {"disabledExtensions": dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, True)},
    )
    write_json(
        settings.env / "share" / "jupyter" / "lab" / "settings" / "overrides.json", LAB_OVERRIDES
    )

    mine = settings.instructor_config
    server: dict = {
        "ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, True)}
    }
    if settings.formgrader_in_lab:
        # nbgrader shows the formgrader in JupyterLab in a frame, which single-user servers
        # of JupyterHub >= 4.1 forbid (frame-ancestors 'none'). The instructor's server, and
        # only it, lets pages of this origin frame it; see deploy/jupyterhub/README.md.
        server["ServerApp"]["tornado_settings"] = {
            "headers": {"Content-Security-Policy": "frame-ancestors 'self'"}
        }
    write_json(mine / "jupyter_server_config.json", server)
    write_json(
        mine / "labconfig" / "page_config.json",
        {"disabledExtensions": dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, False)},
    )
    course_config = Path(settings.course_dir) / "nbgrader_config.py"
    (mine / "nbgrader_config.py").write_text(
        '"""The instructor\'s nbgrader settings: the course\'s own (its folder, the judge,\n'
        'the sandbox), wherever nbgrader runs from (the formgrader, a terminal)."""\n\n'
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(course_config)!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {settings.course_dir!r}\n"
    )


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def instructor_tools(settings: Settings) -> Path:
    """``<prefix>/instructor-bin/dlgrade``: the course's command, run from the instructor's
    course folder (on the instructor's ``PYTHONPATH``, with ``solutions/``)."""
    bin_dir = Path(settings.prefix) / "instructor-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "dlgrade"
    script.write_text(
        f"#!{settings.env / 'bin' / 'python'}\n"
        '"""The course\'s instructor command (graders.cli), from the course folder."""\n'
        "import sys\n\nfrom graders.cli import main\n\n"
        # Guarded: grading's worker processes start by importing this file again.
        'if __name__ == "__main__":\n    sys.exit(main())\n'
    )
    script.chmod(0o755)
    return bin_dir


def instructor_environment(settings: Settings) -> dict[str, str]:
    """The variables the instructor's server (and a shell of the instructor's) runs with."""
    return {
        "PATH": f"{Path(settings.prefix) / 'instructor-bin'}:{settings.env / 'bin'}"
        ":/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": settings.course_dir,
        "JUPYTER_CONFIG_PATH": str(settings.instructor_config),
        "DLGRADE_COURSE": settings.course_dir,
    }


# --- accounts, the course, the exchange ------------------------------------------------


def course_id() -> str:
    """The course id set in this repository's ``nbgrader_config.py``."""
    text = (REPO / "nbgrader_config.py").read_text()
    found = re.search(r"CourseDirectory\.course_id\s*=\s*[\"']([^\"']+)[\"']", text)
    return found.group(1) if found else "course"


def ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        run(["groupadd", name])


def ensure_account(name: str, group: str, password: str | None, state: Path) -> str | None:
    """A local account in ``group`` with a private home. A new one gets ``password``, or a
    random one, which is returned. An existing account keeps its password and home."""
    if not USER_NAME.match(name):
        raise HubError(
            f"{name!r} cannot be an account name: lower-case letters, digits, '_' and '-', "
            "starting with a letter, at most 32 characters"
        )
    ensure_group(group)
    try:
        pwd.getpwnam(name)
    except KeyError:
        pass
    else:
        run(["usermod", "-a", "-G", group, name])
        return None
    run(["useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, name])
    home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)
    generated = None if password else secrets.token_urlsafe(9)
    run(["chpasswd"], input=f"{name}:{password or generated}\n")
    accounts = state / "accounts.json"
    made = json.loads(accounts.read_text()) if accounts.exists() else []
    accounts.write_text(json.dumps(sorted({*made, name})))
    return generated


def record_passwords(state: Path, created: dict[str, str]) -> None:
    """Append the generated passwords of new accounts to ``<state>/initial-passwords.csv``
    (readable by root only), for the instructor to hand out."""
    if not created:
        return
    path = state / "initial-passwords.csv"
    new = not path.exists()
    with path.open("a", newline="") as f:
        path.chmod(0o600)
        writer = csv.writer(f)
        if new:
            writer.writerow(["account", "password"])
        writer.writerows(sorted(created.items()))
    log(f"the passwords of {len(created)} new account(s) are in {path}")


def read_roster(path: Path) -> list[dict[str, str]]:
    """A class roster: a CSV with an ``id`` column (the account name) and optionally
    ``first_name``, ``last_name``, ``email`` (for the gradebook) and ``password``."""
    with path.open(newline="") as f:
        rows = [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]
    if rows and "id" not in rows[0]:
        raise HubError(f"{path}: the roster needs an 'id' column (the students' account names)")
    return [row for row in rows if row.get("id")]


def ensure_course(settings: Settings) -> None:
    """The instructor's course folder: a copy of this repository's tracked files, made once
    (it then holds the gradebook and the submissions: never overwritten)."""
    course = Path(settings.course_dir)
    owner = pwd.getpwnam(settings.instructor)
    if not course.exists():
        log(f"copying the course to {course} ...")
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=False
        )
        if listed.returncode == 0 and listed.stdout:
            for name in listed.stdout.decode().split("\0"):
                source = REPO / name
                if name and source.is_file():
                    (course / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, course / name)
        else:
            shutil.copytree(
                REPO,
                course,
                ignore=shutil.ignore_patterns(
                    ".git", ".venv", "artifacts", "autograded", "submitted", "__pycache__"
                ),
            )
        run(["chown", "-R", f"{owner.pw_uid}:{owner.pw_gid}", course])
        course.chmod(0o700)


def ensure_exchange(settings: Settings) -> None:
    """nbgrader's exchange: a root every account may write in (sticky: no one removes
    another's files), and the course's folder in it made by the instructor beforehand."""
    root = settings.exchange
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o1777)
    owner = pwd.getpwnam(settings.instructor)
    course = root / settings.course_id
    course.mkdir(exist_ok=True)
    os.chown(course, owner.pw_uid, owner.pw_gid)
    course.chmod(0o755)


def as_instructor(settings: Settings, command: Sequence[str | os.PathLike]) -> None:
    """Run a command as the instructor, in the course folder, with the instructor's
    environment."""
    env = [f"{k}={v}" for k, v in instructor_environment(settings).items()]
    run(
        [
            "runuser",
            "-u",
            settings.instructor,
            "--",
            "env",
            f"HOME={Path(settings.course_dir).parent}",
            *env,
            *command,
        ],
        cwd=settings.course_dir,
    )


def add_students(settings: Settings, roster: Path) -> dict[str, str]:
    """Accounts for the students of ``roster`` (see :func:`read_roster`), also added to the
    course's gradebook; returns the passwords generated for new accounts."""
    rows = read_roster(roster)
    created = {}
    for row in rows:
        password = ensure_account(
            row["id"], STUDENTS_GROUP, row.get("password"), Path(settings.state)
        )
        if password:
            created[row["id"]] = password
    if rows:
        owner = pwd.getpwnam(settings.instructor)
        listing = Path(settings.course_dir) / ".roster-import.csv"
        with listing.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "first_name", "last_name", "email"])
            for row in rows:
                writer.writerow(
                    [row["id"], *(row.get(k) or None for k in ("first_name", "last_name", "email"))]
                )
        os.chown(listing, owner.pw_uid, owner.pw_gid)
        try:
            as_instructor(
                settings, [settings.env / "bin" / "nbgrader", "db", "student", "import", listing]
            )
        finally:
            listing.unlink(missing_ok=True)
        log(f"{len(rows)} student(s) in the class roster")
    return created


# --- the hub ---------------------------------------------------------------------------


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings of this start (internal ports chosen afresh). The instructor is the
    one named, else the one of the last start from this state folder, else ``instructor``."""
    instructor = args.instructor
    saved = Path(args.state) / "settings.json"
    if not instructor and saved.exists():
        instructor = json.loads(saved.read_text()).get("instructor")
    instructor = instructor or "instructor"
    args.instructor = instructor
    try:
        home = Path(pwd.getpwnam(instructor).pw_dir)
    except KeyError:
        home = Path("/home") / instructor
    return Settings(
        prefix=str(args.prefix),
        state=str(args.state),
        ip=args.ip,
        port=args.port,
        hub_port=free_port(),
        proxy_api_port=free_port(),
        instructor=instructor,
        course_dir=str(home / "course"),
        course_id=course_id(),
        formgrader_in_lab=not args.no_formgrader_frame,
    )


def setup(args: argparse.Namespace) -> Settings:
    """Everything the hub needs, made or brought up to date (see the module's docstring)."""
    require_root()
    os.umask(0o022)
    prefix, state = Path(args.prefix), Path(args.state)
    prefix.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    if not shutil.which("bwrap"):
        # The instructor grades on this machine, students' kernels in the sandbox.
        apt_install(["bubblewrap", "libseccomp2"])
    python = find_python(prefix, args.python)
    build_environment(prefix, python)
    settings = settings_for(args)
    install_kernel_side(settings.env)
    install_proxy(prefix)
    password = None
    if args.instructor_password_file:
        password = Path(args.instructor_password_file).read_text().strip()
    created = {}
    made = ensure_account(settings.instructor, INSTRUCTORS_GROUP, password, state)
    if made:
        created[settings.instructor] = made
    settings = settings_for(args)  # the instructor's home is known now
    ensure_course(settings)
    ensure_exchange(settings)
    jupyter_settings(settings)
    instructor_tools(settings)
    if args.students:
        created |= add_students(settings, Path(args.students))
    record_passwords(state, created)
    if runs_as("nobody", ["ls", str(REPO / "solutions")]):
        log(
            f"warning: {REPO} is readable by every account, solutions/ included: students on "
            "this hub could read the reference answers; make it private (chmod 700 "
            "on it or a folder above it) or deploy from a private copy"
        )
    shutil.copy2(HERE / "jupyterhub_config.py", state / "jupyterhub_config.py")
    write_json(
        state / "settings.json",
        {**asdict(settings), "instructor_environment": instructor_environment(settings)},
    )
    (state / "settings.json").chmod(0o600)
    return settings


def public_url(settings: Settings) -> str:
    host = settings.ip
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    return f"http://{host}:{settings.port}/"


def wait_for_hub(settings: Settings, hub: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until the hub answers through its proxy; fail with its log if it exits."""
    url = f"http://127.0.0.1:{settings.port}/hub/api/"
    deadline = time.monotonic() + timeout
    while True:
        if hub.poll() is not None:
            tail = (Path(settings.state) / "jupyterhub.log").read_text()[-4000:]
            raise HubError(f"JupyterHub exited ({hub.returncode}); its log ends:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                json.load(response)
                return
        except (OSError, ValueError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise HubError(f"JupyterHub did not answer within {timeout:.0f} s") from None
            time.sleep(0.5)


def stop_process(process: subprocess.Popen, timeout: float = 60) -> None:
    """Stop the hub: it stops the users' servers and its proxy; what is left after
    ``timeout`` seconds is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start(args: argparse.Namespace) -> int:
    """Set up, start the hub, print its URL, and run until Ctrl-C, SIGTERM or ``stop``."""
    pid_file = Path(args.state) / "hub.pid"
    if pid_file.exists() and pid_alive(int(pid_file.read_text())):
        raise HubError(f"a hub is already running from {args.state} (`hub.py stop` stops it)")
    settings = setup(args)
    state = Path(settings.state)
    env = {
        "PATH": f"{settings.env / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
        ":/sbin:/bin",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": "/root",
    }
    # The state folder is open to all (the exchange is in it); the hub's database and log
    # (tokens, who did what) are root's alone.
    for private in ("jupyterhub.sqlite", "jupyterhub.log"):
        (state / private).touch()
        (state / private).chmod(0o600)
    with (state / "jupyterhub.log").open("a") as hub_log:
        hub = subprocess.Popen(
            [settings.env / "bin" / "jupyterhub", "-f", state / "jupyterhub_config.py"],
            cwd=state,
            env=env,
            stdout=hub_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pid_file.write_text(str(os.getpid()))
    try:
        wait_for_hub(settings, hub)
        log(f"JupyterHub is running at {public_url(settings)}")
        log(f"log: {state / 'jupyterhub.log'}")
        log(f"stop it with Ctrl-C, or `{Path(sys.argv[0]).name} stop` in another terminal")
        while not stopping and hub.poll() is None:
            time.sleep(0.5)
        if hub.poll() is not None and not stopping:
            raise HubError(f"JupyterHub exited ({hub.returncode}); see {state / 'jupyterhub.log'}")
    finally:
        log("stopping ...")
        stop_process(hub)
        pid_file.unlink(missing_ok=True)
        log("stopped")
    return 0


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one that has exited but was not yet reaped by its
    parent, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(args: argparse.Namespace) -> int:
    """Stop the hub started from ``--state`` (the ``start`` command that runs it)."""
    pid_file = Path(args.state) / "hub.pid"
    if not pid_file.exists():
        log("no hub is running")
        return 0
    pid = int(pid_file.read_text())
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 90
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid):
            raise HubError(f"the hub (process {pid}) did not stop within 90 s")
    log("stopped")
    return 0


def remove(args: argparse.Namespace) -> int:
    """Stop the hub, delete the accounts this command made (their homes too: the
    instructor's course and gradebook with them) and the state folder. The environment in
    ``--prefix`` stays unless ``--environment`` is given."""
    require_root()
    if not args.yes:
        raise HubError("this deletes the accounts it made and their homes: add --yes")
    stop(args)
    state = Path(args.state)
    accounts = state / "accounts.json"
    for name in json.loads(accounts.read_text()) if accounts.exists() else []:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        log(f"removed account {name}")
    for group in (INSTRUCTORS_GROUP, STUDENTS_GROUP):
        subprocess.run(["groupdel", group], capture_output=True, check=False)
    shutil.rmtree(state, ignore_errors=True)
    if args.environment:
        shutil.rmtree(args.prefix, ignore_errors=True)
    log(f"removed {state}" + (f" and {args.prefix}" if args.environment else ""))
    return 0


def students_command(args: argparse.Namespace) -> int:
    """Add the students of a roster to a course set up before (the hub may be running)."""
    require_root()
    os.umask(0o022)
    saved = Path(args.state) / "settings.json"
    if not saved.exists():
        raise HubError(f"no hub is set up in {args.state}: run `start` first")
    saved_settings = json.loads(saved.read_text())
    saved_settings.pop("instructor_environment", None)
    settings = Settings(**saved_settings)
    record_passwords(Path(settings.state), add_students(settings, Path(args.roster)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub.py", description="The course's JupyterHub on this machine (run as root)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--state",
            type=Path,
            default=DEFAULT_STATE,
            help=f"the hub's configuration, database and exchange (default {DEFAULT_STATE})",
        )
        p.add_argument(
            "--prefix",
            type=Path,
            default=DEFAULT_PREFIX,
            help=f"the shared Python environment and proxy (default {DEFAULT_PREFIX})",
        )

    p = sub.add_parser("start", help="set up and run the hub in the foreground; prints its URL")
    common(p)
    p.add_argument("--ip", default="0.0.0.0", help="address to listen on (default: all)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--instructor",
        help="the instructor's account name (default: the last start's, else 'instructor')",
    )
    p.add_argument(
        "--instructor-password-file", help="the instructor's first password (new account)"
    )
    p.add_argument("--students", help="a roster CSV (id[,first_name,last_name,email,password])")
    p.add_argument("--python", help="the Python 3.11 to build the environment with")
    p.add_argument(
        "--no-formgrader-frame",
        action="store_true",
        help="keep JupyterHub's frame-ancestors 'none' on the instructor's server too "
        "(the formgrader then opens at /user/<instructor>/formgrader, not in a panel)",
    )
    p.set_defaults(func=start)

    p = sub.add_parser("stop", help="stop the running hub and every user's server")
    common(p)
    p.set_defaults(func=stop)

    p = sub.add_parser(
        "add-students", help="create accounts for a roster and add it to the gradebook"
    )
    common(p)
    p.add_argument("roster", help="CSV with columns id[,first_name,last_name,email,password]")
    p.set_defaults(func=students_command)

    p = sub.add_parser("remove", help="stop, delete the accounts made and the state folder")
    common(p)
    p.add_argument("--yes", action="store_true", help="really delete them")
    p.add_argument("--environment", action="store_true", help="also delete --prefix")
    p.set_defaults(func=remove)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HubError as error:
        print(f"dlgrade-hub: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
