"""POST /me/subscriptions: one-time subscribe-message grants."""

from django.http import HttpRequest
from ninja import Router

from minihub.accounts.auth import bearer, token_user_get
from minihub.core.schemas import AUTHENTICATED_BODY_ERRORS, error_responses
from minihub.notifications.schemas import SubscriptionsIn, SubscriptionsOut
from minihub.notifications.services import subscription_grant_record

router = Router(tags=["notifications"])


@router.post(
    "/me/subscriptions",
    auth=bearer,
    response={
        200: SubscriptionsOut,
        **error_responses(*AUTHENTICATED_BODY_ERRORS),
    },
)
def record_subscriptions(request: HttpRequest, payload: SubscriptionsIn):
    """Record the templates the user accepted in wx.requestSubscribeMessage: one more send each."""
    # The token's user, in the token's mini-program only.
    user = token_user_get(
        user_id=request.auth.user_id, mini_program_id=request.auth.mini_program_id
    )
    granted = subscription_grant_record(user_id=user.id, template_ids=payload.template_ids)
    return {"granted": granted}
