"""Every ``gamepipe`` subcommand, one small module per command (group), registered in
``gamepipe.cli``. Commands parse options, call domain code and print; they hold no logic
of their own, and domain modules hold no click code.
"""

import click

# --date, --as-of, --dt: one format, so a bad date is the same short usage error everywhere
DAY = click.DateTime(formats=["%Y-%m-%d"])
