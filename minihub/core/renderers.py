"""The API's JSON: UTF-8 as the content type says, Chinese text as itself.

json.dumps escapes every non-ASCII character as \\uXXXX by default: six bytes
instead of three for each Chinese character, and unreadable in curl and logs.
"""

from ninja.renderers import JSONRenderer

JSON_DUMPS_PARAMS = {"ensure_ascii": False}


class Utf8JSONRenderer(JSONRenderer):
    json_dumps_params = JSON_DUMPS_PARAMS
