"""Settings per environment, chosen by DJANGO_SETTINGS_MODULE.

base (shared) | debug (local, embedded default) | test (staging) | master (production)
"""
