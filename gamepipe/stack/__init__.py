"""Local targets (embedded moto, LocalStack host mode, AWS), the resources they need, and
:func:`gamepipe.stack.launch.launch`, the one path that brings a local stack up.

A target only yields environment variables (``AWS_ENDPOINT_URL*``, fake credentials,
region); nothing else in the project knows which target it runs on.
"""
