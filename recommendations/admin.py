"""Every model in the admin, for merchandisers to browse the catalogue and what users did with it,
and to try Gemini's messages on coordis."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from . import costs, trial
from .models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    GeneratedMessage,
    Item,
    ItemImage,
    User,
    UserClosetItem,
    UserCoordiInteraction,
)
from .trial import FRESH, MAX_TRIED, Tried, TryForm

LATEST_MESSAGES_SHOWN = 10
# Addresses typed without a scheme are https (Django 6's default, chosen now).
URL_FIELDS: "Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]" = {
    models.URLField: {"assume_scheme": "https"}
}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "gender", "is_staff", "is_active"]
    list_filter = ["gender", "is_staff", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "gender"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "gender", "password1", "password2"]}),
    ]


class CoordiImageInline(admin.TabularInline):
    formfield_overrides = URL_FIELDS
    model = CoordiImage
    extra = 0
    fields = ["preview", "image_url", "is_main", "position"]
    readonly_fields = ["preview"]

    @admin.display(description="image")
    def preview(self, image: CoordiImage) -> str:
        return thumbnail_html(image.image_url if image.pk else None)


class CoordiItemInline(admin.TabularInline):
    model = CoordiItem
    extra = 0
    autocomplete_fields = ["item"]
    fields = ["item_thumbnail", "item", "brand", "name", "category", "price", "position"]
    readonly_fields = ["item_thumbnail", "brand", "name", "category", "price"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CoordiItem]:
        # The items and their images in two queries, whatever the outfit's number of items.
        return super().get_queryset(request).select_related("item").prefetch_related("item__images")

    def get_formset(self, request: HttpRequest, obj: Coordi | None = None, **kwargs: Any) -> Any:
        # The chosen items' labels in one query for the whole inline (the widget's own look-up
        # would cost one per row).
        entries = CoordiItem.objects.filter(coordi=obj).select_related("item") if obj else []
        request.chosen_item_labels = {str(entry.item_id): str(entry.item) for entry in entries}  # type: ignore[attr-defined]
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "item":
            labels = getattr(request, "chosen_item_labels", {})
            kwargs["widget"] = LabelledAutocompleteSelect(db_field, self.admin_site, labels=labels)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="image")
    def item_thumbnail(self, entry: CoordiItem) -> str:
        return thumbnail_html(_first_url(entry.item.images.all()) if entry.pk else None, height=48)

    @admin.display(description="brand")
    def brand(self, entry: CoordiItem) -> str:
        return entry.item.brand if entry.pk else ""

    @admin.display(description="name")
    def name(self, entry: CoordiItem) -> str:
        return entry.item.name if entry.pk else ""

    @admin.display(description="category")
    def category(self, entry: CoordiItem) -> str:
        return entry.item.get_category_display() if entry.pk else ""

    @admin.display(description="price")
    def price(self, entry: CoordiItem) -> str:
        return f"{entry.item.price:,}" if entry.pk else ""


class LabelledAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete, labelling its chosen value from `labels` (read once for a whole
    inline) instead of a query per row; a value not in `labels` is looked up as usual."""

    def __init__(self, *args: Any, labels: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = labels

    def optgroups(self, name: str, value: Sequence[str], attrs: dict[str, Any] | None = None) -> Any:
        chosen = [str(one) for one in value if one not in ("", None)]
        if not all(one in self.labels for one in chosen):
            return super().optgroups(name, value, attrs)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        options += [
            self.create_option(name, one, self.labels[one], True, index, attrs=attrs)
            for index, one in enumerate(chosen, start=len(options))
        ]
        return [(None, options, 0)]


def thumbnail_html(url: str | None, *, height: int = 60) -> str:
    if not url:
        return "—"
    return format_html('<img src="{}" height="{}" alt="" loading="lazy">', url, height)


def _first_url(images: Iterable[CoordiImage] | Iterable[ItemImage]) -> str | None:
    """The first of prefetched images (by position, then id), as the API picks an item's image."""
    first = min(images, key=lambda image: (image.position, image.id), default=None)
    return first.image_url if first is not None else None


def main_image(coordi: Coordi) -> CoordiImage | None:
    """The image the API shows (is_main, else the first by position), from the prefetched images."""
    images = coordi.images.all()
    return min(images, key=lambda image: (not image.is_main, image.position, image.id), default=None)


def main_image_html(coordi: Coordi, *, height: int = 60) -> str:
    """The coordi's main image as a thumbnail, from its prefetched images."""
    image = main_image(coordi)
    return thumbnail_html(image.image_url if image is not None else None, height=height)


class HasMessageFilter(admin.SimpleListFilter):
    title = "has a message"
    parameter_name = "has_message"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Coordi]) -> QuerySet[Coordi]:
        made = Exists(GeneratedMessage.objects.filter(coordi=OuterRef("pk"), text__isnull=False))
        if self.value() == "yes":
            return queryset.filter(made)
        if self.value() == "no":
            return queryset.filter(~made)
        return queryset


@admin.register(Coordi)
class CoordiAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = [
        "id", "thumbnail", "style", "season", "gender", "short_description", "item_count",
        "latest_message", "updated_at",
    ]
    list_display_links = ["id", "thumbnail"]
    list_filter = ["gender", "style", "season", HasMessageFilter, "created_at"]
    list_per_page = 50
    search_fields = ["description", "=id", "=source_id"]
    date_hierarchy = "created_at"
    inlines = [CoordiImageInline, CoordiItemInline]
    readonly_fields = ["latest_messages"]
    actions = ["try_messages"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Coordi]:
        # One query for the rows, their item counts and latest messages, one for every thumbnail on
        # the page (and every coordi an action gets).
        latest = GeneratedMessage.objects.filter(coordi=OuterRef("pk"), text__isnull=False).order_by(
            "-created_at", "-id"
        )
        items = CoordiItem.objects.filter(coordi=OuterRef("pk")).order_by().values("coordi")
        return (
            super()
            .get_queryset(request)
            .annotate(
                items_count=Subquery(items.annotate(n=Count("id")).values("n")),
                latest_text=Subquery(latest.values("text")[:1]),
            )
            .prefetch_related("images")
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path("try/", self.admin_site.admin_view(self.try_view), name="recommendations_coordi_try"),
            *super().get_urls(),
        ]

    @admin.display(description="image")
    def thumbnail(self, coordi: Coordi) -> str:
        return main_image_html(coordi)

    @admin.display(description="description", ordering="description")
    def short_description(self, coordi: Coordi) -> str:
        return Truncator(coordi.description).chars(60) or "—"

    @admin.display(description="items", ordering="items_count")
    def item_count(self, coordi: Coordi) -> int:
        return coordi.items_count or 0  # type: ignore[attr-defined]

    @admin.display(description="latest message", ordering="latest_text")
    def latest_message(self, coordi: Coordi) -> str:
        return coordi.latest_text or "—"  # type: ignore[attr-defined]

    @admin.display(description=f"latest messages (at most {LATEST_MESSAGES_SHOWN})")
    def latest_messages(self, coordi: Coordi) -> str:
        if coordi.pk is None:
            return "—"
        latest = list(
            coordi.generated_messages.select_related("user").order_by("-created_at", "-id")[
                :LATEST_MESSAGES_SHOWN
            ]
        )
        if not latest:
            return "None yet."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:recommendations_generatedmessage_change", args=[message.pk]),
                    timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M"),
                    message.user.email,
                    message.outcome,
                    message.text or "—",
                )
                for message in latest
            ),
        )
        return format_html(
            "<table><thead><tr><th>when</th><th>for</th><th>outcome</th><th>message</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Try messages on these coordis (choose the customer next)")
    def try_messages(self, request: HttpRequest, queryset: QuerySet[Coordi]) -> HttpResponse:
        # The first MAX_TRIED in the list's order go in the address; the page says how many were chosen.
        ids = list(queryset.values_list("pk", flat=True)[:MAX_TRIED])
        query = urlencode({"coordis": ",".join(map(str, ids)), "chosen": queryset.count()})
        return HttpResponseRedirect(f"{reverse('admin:recommendations_coordi_try')}?{query}")

    def try_view(self, request: HttpRequest) -> HttpResponse:
        """The "Try messages" page: the form, and after it is sent, each outfit with its message."""
        if not (self.has_view_permission(request) and _may_view_users(request)):
            raise PermissionDenied
        tried: list[Tried] = []
        customer = None
        if request.method == "POST":
            form = TryForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                ids = form.chosen_ids()
                if len(ids) > MAX_TRIED:
                    self.message_user(
                        request, f"{len(ids)} outfits were chosen: the first {MAX_TRIED} were tried.",
                        messages.WARNING,
                    )  # fmt: skip
                customer = form.cleaned_data["customer"]
                tried = trial.try_messages(customer, ids, fresh=form.cleaned_data["source"] == FRESH)
        else:
            ids = _ids(request.GET.getlist("coordis"))
            chosen = max(len(ids), _int(request.GET.get("chosen")))
            if chosen > MAX_TRIED:
                self.message_user(
                    request, f"{chosen} outfits were chosen: the first {MAX_TRIED} will be tried.",
                    messages.WARNING,
                )  # fmt: skip
            form = TryForm(
                initial={"coordis": ids[:MAX_TRIED], "customer": _int(request.GET.get("customer")) or None},
                admin_site=self.admin_site,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Try messages",
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "customer": customer,
            "tried": tried,
            "max_tried": MAX_TRIED,
        }
        return TemplateResponse(request, "admin/recommendations/coordi/try_messages.html", context)


def _may_view_users(request: HttpRequest) -> bool:
    return request.user.has_perm("recommendations.view_user")


def _ids(values: Iterable[str]) -> list[int]:
    """Coordi ids from the address (`?coordis=3,5&coordis=8`), in order, once each; the rest ignored."""
    found = (part.strip() for value in values for part in value.split(","))
    return list(dict.fromkeys(int(part) for part in found if trial.is_id(part)))


def _int(value: str | None) -> int:
    return int(value) if value and trial.is_id(value) else 0


class ItemImageInline(admin.TabularInline):
    formfield_overrides = URL_FIELDS
    model = ItemImage
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["id", "brand", "name", "category", "price"]
    list_filter = ["category", "brand"]
    search_fields = ["name", "brand", "=source_id"]
    inlines = [ItemImageInline]


@admin.register(CoordiImage)
class CoordiImageAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["id", "coordi", "image_url", "is_main", "position"]
    list_select_related = ["coordi"]
    raw_id_fields = ["coordi"]


@admin.register(ItemImage)
class ItemImageAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["id", "item", "image_url", "position"]
    list_select_related = ["item"]
    raw_id_fields = ["item"]


@admin.register(CoordiItem)
class CoordiItemAdmin(admin.ModelAdmin):
    list_display = ["id", "coordi", "item", "position"]
    list_select_related = ["coordi", "item"]
    raw_id_fields = ["coordi", "item"]


@admin.register(UserCoordiInteraction)
class UserCoordiInteractionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "coordi", "action", "created_at"]
    list_filter = ["action"]
    list_select_related = ["user", "coordi"]
    raw_id_fields = ["user", "coordi"]
    search_fields = ["user__email"]


@admin.register(UserClosetItem)
class UserClosetItemAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "item", "created_at"]
    list_select_related = ["user", "item"]
    raw_id_fields = ["user", "item"]
    search_fields = ["user__email", "item__name"]


COST_SUMMARY_DAYS = 30


class CustomerFilter(admin.SimpleListFilter):
    """The messages of one customer, by the email typed in (a list of every user would not fit)."""

    title = "customer"
    parameter_name = "customer"
    template = "admin/recommendations/generatedmessage/customer_filter.html"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("", "")]  # the template's box is the choice; this keeps the filter shown

    def choices(self, changelist: ChangeList) -> Iterator[Any]:  # the template's own keys
        yield {
            "value": self.value() or "",
            # The list's other filters, search and ordering, sent again with the email.
            "kept": [(key, value) for key, value in changelist.params.items() if key != self.parameter_name],
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[GeneratedMessage]) -> QuerySet:
        email = (self.value() or "").strip()
        return queryset.filter(user__email__iexact=email) if email else queryset


@admin.register(GeneratedMessage)
class GeneratedMessageAdmin(admin.ModelAdmin):
    """A record of what Gemini was asked and answered: browsed, never written by hand."""

    list_display = [
        "created_at", "outfit_thumbnail", "coordi", "customer", "message_text", "outcome", "detail",
        "model", "prompt_version", "scope", "latency_ms", "reached_gemini",
    ]
    list_display_links = ["created_at"]
    list_filter = [
        "outcome", "model", "prompt_version", "scope", "reached_gemini", "created_at", CustomerFilter
    ]
    # coordi__id__exact: the admin casts it to text, so a word in the search box is no error.
    search_fields = ["text", "user__email", "user__name", "coordi__id__exact"]
    date_hierarchy = "created_at"
    fields = [
        "outfit", "customer", "text", "outcome", "detail", "model", "prompt_version", "scope",
        "latency_ms", "reached_gemini", "input_tokens", "image_tokens", "cached_tokens",
        "output_tokens", "thinking_tokens", "image_bytes", "created_at",
    ]
    readonly_fields = ["outfit", "customer"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[GeneratedMessage]:
        # The rows with their outfits and customers in one query, every outfit's images in one more.
        queryset = super().get_queryset(request).select_related("coordi", "user")
        return queryset.prefetch_related("coordi__images")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The list, with what the rows shown cost (message_costs' figures) above it."""
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:  # not a redirect or an error page
            # Unless a date is chosen, the last days only: the whole table grows with every page view.
            dated = any(name.startswith("created_at") for name in request.GET)
            days = None if dated else COST_SUMMARY_DAYS
            figures = costs.report(context["cl"].queryset, first_day=costs.since(days) if days else None)
            context.update(
                costs=figures, cost_days=costs.day_rows(figures), cost_outcomes=costs.outcome_rows(figures),
                cost_summary_days=days,
            )  # fmt: skip
        return response

    @admin.display(description="image")
    def outfit_thumbnail(self, message: GeneratedMessage) -> str:
        return main_image_html(message.coordi, height=48)

    @admin.display(description="customer", ordering="user__email")
    def customer(self, message: GeneratedMessage) -> str:
        user = message.user
        return format_html(
            "{} ({})<br><small>{}</small>", user.name or "no name", user.get_gender_display(), user.email
        )

    @admin.display(description="message", ordering="text")
    def message_text(self, message: GeneratedMessage) -> str:
        return Truncator(message.text or "—").chars(80)

    @admin.display(description="outfit")
    def outfit(self, message: GeneratedMessage) -> str:
        coordi = message.coordi
        return format_html(
            '{}<br><a href="{}">{}</a>',
            main_image_html(coordi, height=120),
            reverse("admin:recommendations_coordi_change", args=[coordi.pk]),
            str(coordi),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GeneratedMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GeneratedMessage | None = None) -> bool:
        # Records of calls paid for: only a superuser may prune them.
        return request.user.is_superuser
