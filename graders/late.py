"""The course's late policy: a share of the points earned, per started day late.

nbgrader's ``AssignLatePenalties`` (in the autograde pipeline of ``nbgrader_config.py``)
asks the plugin named by ``c.AssignLatePenalties.plugin_class`` for a notebook's penalty
when its submission came after the assignment's due date (the due date is set with
``dlgrade release ASSIGNMENT --publish --due ...``; a submission's time is the one its
collection recorded, see ``graders.exchange``). :class:`LatePolicy` takes
``per_day`` of the earned points for each started day, after ``grace_minutes``, and all
of them once ``max_days`` have started. The gradebook keeps the penalty apart from the
score; exports deduct it.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, Integer


class LatePolicy(LateSubmissionPlugin):
    """A share of the earned points per started day late (see the module docstring)."""

    per_day = Float(0.1, help="share of the earned points lost per started day late").tag(
        config=True
    )
    grace_minutes = Float(0.0, help="minutes after the due date that are not late").tag(config=True)
    max_days = Integer(
        7, help="from this many started days late on, the submission earns nothing"
    ).tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        """The points taken from ``score`` for a submission ``total_seconds_late`` late."""
        late = total_seconds_late - 60.0 * self.grace_minutes
        if late <= 0:
            return None
        days = math.ceil(late / 86400.0)
        share = 1.0 if days >= self.max_days else min(1.0, days * self.per_day)
        penalty = round(score * share, 6)
        self.log.warning(
            "%s is %d started day(s) late: %s of %s points taken", student_id, days, penalty, score
        )
        return penalty
