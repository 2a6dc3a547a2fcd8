"""Business logic of the game-analytics pipeline; app.py only routes to it."""
