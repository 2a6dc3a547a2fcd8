"""Load generator: plausible game events, sent over HTTP or straight to the stream."""

from gamepipe.generator.stream import Generated, generate, generate_events

__all__ = ["Generated", "generate", "generate_events"]
