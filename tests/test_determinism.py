"""The suite itself is deterministic: hypothesis draws the same examples on every run."""
import os

from hypothesis import settings


def test_hypothesis_profile_is_derandomised_unless_random_is_asked_for():
    profile = settings.default
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("HYPOTHESIS_PROFILE", "default") != "random":
        assert profile.derandomize and profile.database is None and profile.deadline is None
    else:
        assert not profile.derandomize and profile.database is not None
