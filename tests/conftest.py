import os

# Two cores, shared: keep torch and BLAS from oversubscribing.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])

# ``ci`` (the default, and what CI=true selects): the same examples on every run and no
# example database, so a fresh clone and a developer's tree test exactly the same cases.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_COMMON)
# ``random`` (``make test-random``): fresh examples each run; failures are kept in
# .hypothesis/ (git-ignored) and replayed first on the next random run.
settings.register_profile("random", derandomize=False, print_blob=True, **_COMMON)
settings.register_profile("default", parent=settings.get_profile("ci"))


def _profile() -> str:
    if os.environ.get("CI", "").lower() == "true":
        return "ci"
    return os.environ.get("HYPOTHESIS_PROFILE", "default")


settings.load_profile(_profile())
