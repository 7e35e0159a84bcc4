from django.db import migrations, models


def encrypted_mode_where_a_key_is_set(apps, schema_editor):
    # An existing mini-program with an EncodingAESKey was receiving safe-mode pushes:
    # it keeps them, and stops accepting unsigned plain ones. No secret is decrypted.
    MiniProgram = apps.get_model("tenants", "MiniProgram")
    MiniProgram.objects.exclude(aes_key="").update(push_mode="safe")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="miniprogram",
            name="push_mode",
            field=models.CharField(
                choices=[
                    ("plain", "plain text"),
                    ("compatible", "compatible (clear and encrypted)"),
                    ("safe", "safe (encrypted)"),
                ],
                default="plain",
                help_text="Must match the message push mode chosen in WeChat's console; "
                "pushes in any other mode are refused.",
                max_length=10,
            ),
        ),
        migrations.RunPython(encrypted_mode_where_a_key_is_set, migrations.RunPython.noop),
    ]
