"""The solve layer: the one place that runs HiGHS on a built model.

* :mod:`optimizer.solver.options`: what the user controls (time limit, gap, threads);
* :mod:`optimizer.solver.compile`: a Pyomo model to sparse matrices;
* :mod:`optimizer.solver.highs`: the matrices in HiGHS (the only import of highspy);
* :mod:`optimizer.solver.session`: a built model loaded once and solved: the
  trivial-conflict check, the run, HHI cut rounds, polishing, reading values
  and duals, and warm re-solves after a limit changes or rows are dropped;
* :mod:`optimizer.solver.elastic`: the elastic copy behind infeasibility repairs.

Analyses (rule costs, repairs, frontier, scenarios) solve through a
:class:`~optimizer.solver.session.Session` and never touch HiGHS themselves.
This package imports nothing heavy on its own, so ``SolverOptions`` stays
cheap to import for the command line.
"""
