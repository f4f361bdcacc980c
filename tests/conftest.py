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


def pytest_collection_modifyitems(session, config, items):
    """The demos' runs go last and start now in the background (test_demos.py)."""
    runs = [
        item
        for item in items
        if getattr(item, "originalname", "") == "test_demo_runs_and_opens_with_what_you_will_see"
    ]
    if not runs:
        return
    chosen = set(runs)
    items[:] = [item for item in items if item not in chosen] + runs
    start_in_background = runs[0].module.start_in_background
    start_in_background([item.callspec.params["demo"] for item in runs])
