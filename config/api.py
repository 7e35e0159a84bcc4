"""The API of /api/v2: one NinjaAPI, one router per app."""

from ninja import NinjaAPI

from minihub.accounts.api import router as accounts_router
from minihub.albums.api import router as albums_router
from minihub.core.api import router as health_router
from minihub.core.exception_handlers import install_exception_handlers
from minihub.core.parsers import StrictJsonParser
from minihub.core.renderers import Utf8JSONRenderer
from minihub.integrations.wechat.errors import WeChatError
from minihub.notifications.api import router as notifications_router
from minihub.wechat.api import router as wechat_router
from minihub.wechat.api_errors import on_wechat_error

api = NinjaAPI(
    title="MiniHub API",
    version="2",
    description="Backend for WeChat mini-programs. Errors use one envelope: "
    '{"error": {"code", "message", "request_id", "fields"?}}.',
    parser=StrictJsonParser(),
    renderer=Utf8JSONRenderer(),
    openapi_url="/openapi.json",
    docs_url="/docs",
    urls_namespace="api",
)
install_exception_handlers(api)
api.add_exception_handler(WeChatError, on_wechat_error)
api.add_router("/", health_router)
api.add_router("/", accounts_router)
api.add_router("/", notifications_router)
api.add_router("/", wechat_router)
api.add_router("/", albums_router)
