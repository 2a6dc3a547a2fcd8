"""Local tooling of the pipeline: the `gamepipe` CLI, generator, oracle, local runtime."""
