"""JupyterHub configuration of the course (copied into the state folder by ``hub.py``).

Local accounts log in with their system password (PAM); each user's JupyterLab runs as that
account (LocalProcessSpawner) from the shared environment. Only members of the course's
groups may log in. The values that change per machine (folders, ports, the instructor) come
from ``settings.json`` beside this file, written by ``hub.py start``.
"""

import json
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when this file is loaded

here = Path(__file__).resolve().parent
settings = json.loads((here / "settings.json").read_text())
env = Path(settings["prefix"]) / "env"
node_bin = Path(settings["prefix"]) / "node" / "node_modules" / ".bin"

c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.JupyterHub.db_url = f"sqlite:///{here / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(here / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [str(node_bin / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = str(here / "proxy.pid")
# Users' servers stop with the hub.
c.JupyterHub.cleanup_servers = True

# Who may log in: the instructor's and the students' groups (hub.py creates both), with their
# system passwords. A student added later (hub.py add-students) can log in without a restart.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {"dlgrade-instructors", "dlgrade-students"}
c.PAMAuthenticator.open_sessions = False

# What the log-in page tells everyone (HTML).
c.JupyterHub.template_vars = {
    "announcement_login": (
        "Sign in with your course account. In JupyterLab, <b>Nbgrader &gt; Assignment List</b> "
        "fetches the week's assignment and submits it: save your notebook first, the saved "
        "file is what is submitted."
    )
}

# Each user's JupyterLab runs as their own account, from the environment everyone can read.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(env / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"PATH": f"{env / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
# A loaded machine (TensorFlow kernels of a whole class) may take a while to start a server.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def instructor_only(spawner) -> None:
    """The instructor's server gets the course folder's Python packages (the full graders
    package and solutions/), the ``dlgrade`` command, and the Jupyter settings that enable
    the formgrader; students' servers get none of these."""
    if spawner.user.name != settings["instructor"]:
        return
    spawner.environment = {**spawner.environment, **settings["instructor_environment"]}


c.Spawner.pre_spawn_hook = instructor_only
