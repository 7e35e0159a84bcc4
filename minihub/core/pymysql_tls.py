"""PyMySQL's "preferred" TLS without its cost: one SSL context per process.

Given no TLS option, PyMySQL offers TLS to a server that supports it, and builds
a new default SSL context for every connection to do so, loading the system's
CA store: about 50 ms of CPU, under the GIL, for each new connection (each new
thread's, each health check's, each RQ job's, each reconnect). That context is
the same every time (no option shapes it), so one per process serves them all.
A connection given TLS options builds its own, as PyMySQL does.
"""

import threading

import pymysql.connections

_lock = threading.Lock()
_preferred = None


class Connection(pymysql.connections.Connection):
    def _create_ssl_ctx(self, sslp):
        if sslp != {}:  # options given: PyMySQL's own context for them
            return super()._create_ssl_ctx(sslp)
        global _preferred
        with _lock:
            if _preferred is None:
                _preferred = super()._create_ssl_ctx(sslp)
            return _preferred
