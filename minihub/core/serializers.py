"""What MiniHub writes to Redis is data, never code: no pickle in the cache or the job queues.

Django's cache and RQ pickle by default, and unpickling runs whatever the
bytes name: anyone able to write to Redis would run code in every web and
worker process. JSON cannot name code.
"""

import io
import json
import logging
import pickle

from rq.serializers import JSONSerializer

logger = logging.getLogger(__name__)

PICKLE_PROTOCOL_MARK = b"\x80"


class CacheSerializer:
    """Django's RedisCache serializer (CACHES OPTIONS "serializer"): JSON.

    Integers stay plain so that `cache.incr` keeps working. A value that is
    not JSON (foreign, or written by an older release) reads as a miss, so the
    caller recomputes it and writes it afresh.
    """

    def dumps(self, value) -> int | bytes:
        if type(value) is int:
            return value
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, data: bytes):
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            logger.warning("cache value is not JSON; treated as a miss")
            return None


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickles str, bytes, numbers, None, tuples, lists and dicts; refuses any global."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refused to load {module}.{name} from a job")


class JobSerializer(JSONSerializer):
    """RQ's serializer for MiniHub's queues and workers: RQ's own JSON.

    Reads JSON, and also pickles made only of plain data: RQ's cron scheduler
    always pickles the jobs it enqueues (a function name and its arguments),
    and those stay readable, while a pickle naming any class or function,
    the only way a pickle runs code, is refused.
    """

    @staticmethod
    def loads(data: bytes, *args, **kwargs):
        if data[:1] == PICKLE_PROTOCOL_MARK:
            return _PlainDataUnpickler(io.BytesIO(data)).load()
        return JSONSerializer.loads(data, *args, **kwargs)
