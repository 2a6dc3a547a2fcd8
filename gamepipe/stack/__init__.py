"""Local targets (embedded moto, LocalStack host mode, AWS) and the resources they need.

A target only yields environment variables (``AWS_ENDPOINT_URL*``, fake credentials,
region); nothing else in the project knows which target it runs on.
"""

from gamepipe.stack.resources import create_resources
from gamepipe.stack.targets import TARGETS, Target, make_target

__all__ = ["TARGETS", "Target", "create_resources", "make_target"]
