"""The Pyomo model: one module per business concern, assembled by :func:`build_model`."""

from optimizer.model.build import build_model

__all__ = ["build_model"]
