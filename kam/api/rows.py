"""A fast read path: list and detail rows built from ``.values_list()`` with a precompiled field plan.

DRF's ``ModelSerializer`` costs tens of microseconds per field and row (it rebuilds its fields on
every request, fetches each attribute through ``get_attribute`` and calls ``to_representation``
even where the database value is already the answer). On a 50-row account page that was about 60%
of the request. ``RowPlan`` reads the serializer's fields once per class and turns each into a
column name and a converter: ``None`` where the value goes out as it comes from the database
(ids, integers, plain text and codes), a small function where it does not (decimals, datetimes),
and the field's own ``to_representation`` for any other field type, so the output is the
serializer's by construction. ``tests/api/test_fast_read.py`` compares the two over every field.

Only fields that are a plain column of the model (or a foreign key's id) can be planned; a
serializer with anything else (a method field, a dotted source, a many-to-many) is refused when
the plan is built, and its viewset keeps using the serializer.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import fields as drf_fields
from rest_framework import filters, relations
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from kam.api.fields import BlankAsNullChoiceField
from kam.api.viewsets import OrderingFilter

# Field types (exactly these, not subclasses) whose representation is the database value itself:
# ``str(text)``, ``int(integer)``, ``bool`` of a boolean column.
_IDENTITY = frozenset({drf_fields.CharField, drf_fields.IntegerField, drf_fields.BooleanField})


def _blank_as_null(value: Any) -> Any:
    return value or None


class _Decimal:
    """``DecimalField.to_representation`` without a context copy per value when the database
    already holds the value at the field's scale (it always does for a column of that scale).

    ``str(value)`` is checked rather than ``value.as_tuple()`` (which builds a tuple of every
    digit, five times the cost): plain notation with exactly ``decimal_places`` digits after the
    point is the value at that scale, written as ``f"{value:f}"`` would write it."""

    __slots__ = ("field", "places")

    def __init__(self, field: drf_fields.DecimalField) -> None:
        self.field = field
        self.places = field.decimal_places

    def __call__(self, value: Any) -> Any:
        if type(value) is decimal.Decimal and self.places is not None:
            text = str(value)
            if "E" not in text and (text.find(".") == len(text) - 1 - self.places if self.places else "." not in text):
                return text
        return self.field.to_representation(value)


_DATETIME = object()  # marker: converted with the request's current time zone (see RowPlan.rows)


class RowPlan:
    """The columns to select and how to turn each selected row into the serializer's output."""

    def __init__(self, serializer: Any) -> None:
        model = serializer.Meta.model
        self.model = model
        self.names: list[str] = []
        self.columns: list[str] = []
        self.converters: list[Any] = []
        for field in serializer.fields.values():
            if field.write_only:
                continue
            self.names.append(field.field_name)
            self.columns.append(self._column(model, field))
            self.converters.append(self._converter(field))
        self.has_datetimes = any(c is _DATETIME for c in self.converters)
        self._from_dict = operator.itemgetter(*self.columns) if len(self.columns) > 1 else lambda row: (row[self.columns[0]],)
        # ``.values_list(*columns)`` resolves every column again on each call (about 0.3 ms for the
        # 26 of an account); set up once here and cloned per request. Never evaluated itself:
        # callers take ``.all()`` so that no result cache is shared between requests. Rows come as
        # named tuples (the cursor paginator reads the ordering column by name): a tuple costs
        # nothing to build, where ``.values()`` builds a dict per row that ``rows`` then rebuilds.
        self.template = self.select(model._default_manager.all())

    def select(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset.values_list(*self.columns, named=True)

    def selects_columns(self, queryset: models.QuerySet) -> bool:
        return tuple(queryset.query.values_select) == tuple(self.columns)

    @staticmethod
    def _column(model: type[models.Model], field: Any) -> str:
        source = field.source
        if "." in source or source == "*":
            raise TypeError(f"{field.field_name}: source {source!r} is not a column")
        model_field = model._meta.get_field(source)
        if not model_field.concrete or model_field.many_to_many:
            raise TypeError(f"{field.field_name}: {source!r} is not a column")
        if (
            model_field.is_relation
            and source != model_field.attname
            and (  # "group_root_id" is a column
                not isinstance(field, relations.PrimaryKeyRelatedField) or field.pk_field is not None
            )
        ):
            raise TypeError(f"{field.field_name}: only a related id can be planned")
        return model_field.attname

    @staticmethod
    def _converter(field: Any) -> Any:
        if isinstance(field, BlankAsNullChoiceField):
            return _blank_as_null
        if isinstance(field, relations.PrimaryKeyRelatedField):
            return None
        if isinstance(field, drf_fields.DateTimeField):
            fmt = getattr(field, "format", api_settings.DATETIME_FORMAT)
            if fmt is not None and fmt.lower() == drf_fields.ISO_8601 and not hasattr(field, "timezone"):
                return _DATETIME
            return field.to_representation
        if isinstance(field, drf_fields.DecimalField):
            coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
            if coerce and not field.localize and not field.normalize_output:
                return _Decimal(field)
            return field.to_representation
        if type(field) is drf_fields.ChoiceField:
            # A string code maps to itself; integer choices go through the field.
            if all(isinstance(key, str) for key in field.choices):
                return None
            return field.to_representation
        if type(field) in _IDENTITY:
            return None
        if type(field) is drf_fields.BigIntegerField and not getattr(
            field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
        ):
            return None  # a bigint id goes out as the integer it is
        return field.to_representation

    def rows(self, values: Iterable[Any]) -> list[dict[str, Any]]:
        """The serializer's output for rows selected with ``select`` (tuples in column order) or
        with ``.values(*self.columns)`` (dicts)."""
        tz = timezone.get_current_timezone() if self.has_datetimes else None

        def as_datetime(value: Any) -> Any:
            # DRF's DateTimeField: local time in the current zone, ISO 8601, "Z" for UTC.
            text = value.astimezone(tz).isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        names = self.names
        # Only the fields whose value is not the database's own are touched after the row is zipped.
        converted: list[tuple[str, Callable[[Any], Any]]] = [
            (name, as_datetime if conv is _DATETIME else conv)
            for name, conv in zip(names, self.converters, strict=True)
            if conv is not None
        ]
        from_dict = self._from_dict
        out = []
        for row in values:
            item = dict(zip(names, from_dict(row) if type(row) is dict else row, strict=True))
            for name, convert in converted:
                value = item[name]
                if value is not None:
                    item[name] = convert(value)
            out.append(item)
        return out


class IdleFilterBackend(DjangoFilterBackend):
    """``DjangoFilterBackend`` that skips the FilterSet when the query string holds no filter.

    Building a FilterSet deep-copies its filters and validates a form (about a millisecond for the
    account filters); with only the cursor, page size, ordering or search in the query string, no
    filter can apply and the queryset is returned as it came (what the FilterSet would return).
    """

    NOT_FILTERS = frozenset({"cursor", "page_size", api_settings.ORDERING_PARAM, api_settings.SEARCH_PARAM})

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        if self.NOT_FILTERS.issuperset(request.query_params.keys()):
            return queryset
        return super().filter_queryset(request, queryset, view)


class FastReadMixin:
    """``list`` and ``retrieve`` through a ``RowPlan`` of ``serializer_class`` (writes are unchanged).

    Everything else is the viewset's own: the visibility queryset, filters, search, ordering,
    cursor pagination (DRF reads the cursor position from a dict as from an instance) and the
    ETag (the row's ``version``). Put it before ``ServiceViewSet`` in the bases.
    """

    _row_plans: ClassVar[dict[type, RowPlan]] = {}
    filter_backends = [IdleFilterBackend, filters.SearchFilter, OrderingFilter]

    @classmethod
    def row_plan(cls) -> RowPlan:
        plan = FastReadMixin._row_plans.get(cls)
        if plan is None:
            plan = FastReadMixin._row_plans[cls] = RowPlan(cls.serializer_class(context={}))
        return plan

    def base_queryset(self) -> models.QuerySet:
        if self.action in {"list", "retrieve"} and not (self.list_select_related or self.list_prefetch_related):
            return self.visible_rows(self.row_plan().template.all())
        return super().base_queryset()

    def visible_rows(self, queryset: models.QuerySet) -> models.QuerySet:
        """What this user may see of ``queryset`` (the visibility rule); a viewset may choose a
        formulation of the same rows that suits its pages better."""
        return queryset.visible_to(self.request.user)

    def read_queryset(self) -> models.QuerySet:
        """The filtered queryset, selecting the plan's columns (a viewset's own ``base_queryset`` too)."""
        plan = self.row_plan()
        queryset = self.filter_queryset(self.get_queryset())
        return queryset if plan.selects_columns(queryset) else plan.select(queryset)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.row_plan()
        queryset = self.read_queryset()
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(plan.rows(queryset))
        return self.get_paginated_response(plan.rows(page))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.row_plan()
        queryset = self.read_queryset()
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        row = get_object_or_404(queryset, **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        (data,) = plan.rows([row])
        # ServiceViewSet.etag: the row's version when it has one, else a hash of the data.
        version = row.get("version") if isinstance(row, dict) else getattr(row, "version", None)
        tag = f'"{version}"' if isinstance(version, int) else self.etag(row, data)
        return Response(data, headers={"ETag": tag})
