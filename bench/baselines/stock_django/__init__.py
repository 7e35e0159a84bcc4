"""The honest framework floor: the Django project a user would write for /ping and
/albums/<id>, imported from nothing of MiniHub (its settings, engine, views and server
config are all stock)."""
