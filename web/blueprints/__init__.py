"""The web app's blueprints, one per area."""
