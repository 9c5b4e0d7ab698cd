"""Daily planning: builds the optimizer's problem from the database and stores its plans.

The adapter between :mod:`domain` (tables) and :mod:`optimizer` (the pure solver). Entry points
live in :mod:`planning.service`.
"""
