"""The platform's own app: its ``ready()`` prepares the files a one-machine install keeps (local_files)."""
from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "qsched_platform"
    verbose_name = "qsched-eval platform"

    def ready(self):
        from django.conf import settings

        from .local_files import prepare_local_files

        prepare_local_files(settings)
