"""The API of /api/v2: one NinjaAPI, one router per app."""

from ninja import NinjaAPI

from minihub.core.api import router as health_router
from minihub.core.exception_handlers import install_exception_handlers
from minihub.core.parsers import StrictJsonParser

api = NinjaAPI(
    title="MiniHub API",
    version="2",
    description="Backend for WeChat mini-programs. Errors use one envelope: "
    '{"error": {"code", "message", "request_id", "fields"?}}.',
    parser=StrictJsonParser(),
    openapi_url="/openapi.json",
    docs_url="/docs",
    urls_namespace="api",
)
install_exception_handlers(api)
api.add_router("/", health_router)
