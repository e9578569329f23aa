"""Serve Stepstone functions from Django: `urlpatterns = [stepstone.django.serve(client, functions)]`."""

from __future__ import annotations

from stepstone.sdk.django import serve

__all__ = ["serve"]
