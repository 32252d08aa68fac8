"""The REST API, dashboard, metrics and discovery of the local service (`pixel-detective serve --http`)."""
