import os

from hypothesis import HealthCheck, settings

# Shared, noisy machines: no per-example deadline. `HYPOTHESIS_PROFILE=thorough` runs more.
settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
