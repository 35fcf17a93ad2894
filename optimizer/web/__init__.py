"""The web workspace: ``optimizer serve`` (SPEC section 11).

A local web application for procurement teams who do not use a terminal:
open a bundled example or upload an instance (.xlsx, or a .zip of a YAML
folder), see its tables and validation problems (worded as ``optimizer
validate`` words them), edit its rules, solve, read the report, compare two
runs side by side, run a frontier, a stress test, N-1, a robust plan and
alternatives, and download every output.

* :mod:`optimizer.web.workspace`: the workspace folder (instances, runs), ids
  and the one place where a URL becomes a file.
* :mod:`optimizer.web.uploads`: uploads, size-capped, and .zip extraction,
  bounded.
* :mod:`optimizer.web.jobs`: the job table; each run is a separate process.
* :mod:`optimizer.web.tasks`: what such a process runs (the library, as the
  commands call it).
* :mod:`optimizer.web.app`: the Starlette application and its pages
  (templates/ and static/ beside it).
"""
