from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field, StrictStr

from minihub.notifications.validators import TEMPLATE_ID_MAX, TEMPLATE_ID_PATTERN

MAX_TEMPLATE_IDS = 20

TemplateId = Annotated[
    StrictStr, Field(min_length=1, max_length=TEMPLATE_ID_MAX, pattern=TEMPLATE_ID_PATTERN)
]


class SubscriptionsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    template_ids: list[TemplateId] = Field(
        min_length=1,
        max_length=MAX_TEMPLATE_IDS,
        description="the tmplIds the user accepted in wx.requestSubscribeMessage",
    )


class SubscriptionsOut(Schema):
    granted: dict[str, int] = Field(
        description="each template's one-time subscriptions not yet used, this one included"
    )
