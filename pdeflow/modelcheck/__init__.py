"""pdeflow.modelcheck: ``pdeflow validate``, a user's score / velocity / noise / denoiser model
against a catalogue problem's truth (protocol, sampling, report, validate, command)."""
from .protocol import KINDS, ModelAdapter
from .report import SUMMARY_KEYS, ValidationReport
from .sampling import probability_flow, reverse_sde
from .validate import error_profile, trapezoid_weights, validate

__all__ = ["KINDS", "ModelAdapter", "SUMMARY_KEYS", "ValidationReport", "error_profile",
           "probability_flow",
           "reverse_sde", "trapezoid_weights", "validate"]
