"""The framework floor: a minimal Django project, no apps and no middleware, whose two views do
what /ping and /albums/<id> do, on the same database and Redis settings as MiniHub."""
