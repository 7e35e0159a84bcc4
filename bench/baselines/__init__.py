"""What MiniHub is compared with: a bare WSGI callable and a minimal Django project."""
