"""next2met.server: the Flask application (see create_app in app.py)."""
