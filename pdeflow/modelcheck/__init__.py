"""pdeflow.modelcheck: ``pdeflow validate``, a user's score / velocity / noise / denoiser model
against the truth of a catalogue problem (:mod:`pdeflow.problems`).

* :mod:`~pdeflow.modelcheck.protocol` - model adapters and the conversions between kinds.
* :mod:`~pdeflow.modelcheck.sampling` - probability-flow ODE and reverse SDE in any convention.
* :mod:`~pdeflow.modelcheck.report` - :class:`ValidationReport` and its files.
* :mod:`~pdeflow.modelcheck.validate` - :func:`validate`.
* :mod:`~pdeflow.modelcheck.command` - the ``pdeflow validate`` / ``pdeflow problems`` commands.
"""
from .protocol import KINDS, ModelAdapter
from .report import SUMMARY_KEYS, ValidationReport
from .sampling import probability_flow, reverse_sde
from .validate import trapezoid_weights, validate

__all__ = ["KINDS", "ModelAdapter", "SUMMARY_KEYS", "ValidationReport", "probability_flow",
           "reverse_sde", "trapezoid_weights", "validate"]
