"""dlgrade: graded deep-learning exercises with a trusted nbgrader judge.

Layers: ``compare``/``encoding`` (pure), ``checks`` (public tests), ``cases`` (hidden-check
inputs), ``probe`` and ``quiet`` (kernel side), ``judge`` (trusted side),
``nbgrader_plugins`` (wiring into nbgrader), ``data``, ``sandbox``/``warm`` (the kernel's
sandbox and warm kernels), ``course``/``parallel``/``export``/``report``/``demo`` and ``cli``
(instructor side). The layers, the trust boundary and the protocols between them:
``docs/architecture.md``.
"""

__version__ = "0.1.0"
