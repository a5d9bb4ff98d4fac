"""Cursor pagination by default: stable under concurrent inserts and as fast 2,000 pages deep as on
the first page (the cursor is a position in an indexed ordering, not an OFFSET)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.KAM_API_MAX_PAGE_SIZE
    ordering = ("id",)
