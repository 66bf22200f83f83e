"""The instructor's HTML pages (class report, similar submissions) come from Jinja2
templates in ``graders/templates``, which escape everything they are given: a student's
code or a grade id is shown as text, never read as HTML. Only what a page marks ``|safe``
is not escaped: its own style sheet, and code already escaped piece by piece."""

from __future__ import annotations

import jinja2


def template(name: str) -> jinja2.Template:
    """The template ``graders/templates/<name>``, autoescaping, failing on a name it is
    not given."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("graders", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(name)
