"""Analyses of a built and solved model, through the solve layer (never HiGHS
itself): what each rule costs and the concentration report
(:mod:`~optimizer.analysis.rule_costs`, :mod:`~optimizer.analysis.concentration`),
why no plan exists (:mod:`~optimizer.analysis.repair`), and the cost of a rule
as a curve (:mod:`~optimizer.analysis.frontier`)."""
