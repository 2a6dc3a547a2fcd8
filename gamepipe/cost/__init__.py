"""AWS cost model of the pipeline (``gamepipe cost``, docs/cost.md), one concern per module.

- :mod:`~gamepipe.cost.prices`: list prices (each with source and date) and AWS limits
- :mod:`~gamepipe.cost.lake`: the lake's measured shape and the bytes a statement reads
- :mod:`~gamepipe.cost.inputs`: what the model is computed from
- :mod:`~gamepipe.cost.measured`: measured speeds from a benchmark run, as a typed record
- :mod:`~gamepipe.cost.presets`: named settings, the levers between them, building inputs
- :mod:`~gamepipe.cost.model`: every billed quantity of one day and its price
- :mod:`~gamepipe.cost.render`: text, Markdown and JSON output
- the ``gamepipe cost`` command is :mod:`gamepipe.commands.cost`
"""

from gamepipe.cost.prices import PRICES

__all__ = ["PRICES"]
