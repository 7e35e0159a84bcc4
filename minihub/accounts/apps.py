from django.apps import AppConfig
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


def revoke_tokens_of_deleted_user(sender, instance, **kwargs):
    # However a user is deleted (admin, shell, code), the copies of its tokens in
    # Redis must not outlive it: they would pass every check that loads no user row.
    from minihub.accounts.tokens import user_tokens_revoke

    user_tokens_revoke(user_id=instance.id)


class AccountsConfig(AppConfig):
    name = "minihub.accounts"
    label = "accounts"
    verbose_name = _("Mini-program users")

    def ready(self):
        pre_delete.connect(
            revoke_tokens_of_deleted_user,
            sender=self.get_model("User"),
            dispatch_uid="revoke_tokens_of_deleted_user",
        )
