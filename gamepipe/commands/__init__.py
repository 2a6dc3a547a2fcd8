"""Every ``gamepipe`` subcommand, one small module per command (group), registered in
``gamepipe.cli``. Commands parse options, call domain code and print; they hold no logic
of their own, and domain modules hold no click code. Options more than one command takes
are declared once, in ``options``.
"""
