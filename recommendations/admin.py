"""Every model in the admin, for merchandisers to browse the catalogue and what users did with it,
and to try Gemini's messages on coordis."""

from asgiref.sync import async_to_sync
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from llm.service import generate_message_results

from . import costs
from .connections import release
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
from .selectors import load_outfits, user_facts
from .services import record_messages

# A staff trial is a handful of calls paid for at once, within one page's deadline.
MAX_TRIED_COORDIS = 20
LATEST_MESSAGES_SHOWN = 10


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
    model = CoordiImage
    extra = 0


class CoordiItemInline(admin.TabularInline):
    model = CoordiItem
    extra = 0
    autocomplete_fields = ["item"]


def main_image(coordi: Coordi) -> CoordiImage | None:
    """The image the API shows (is_main, else the first by position), from the prefetched images."""
    images = coordi.images.all()
    return min(images, key=lambda image: (not image.is_main, image.position, image.id), default=None)


@admin.register(Coordi)
class CoordiAdmin(admin.ModelAdmin):
    list_display = [
        "id", "thumbnail", "style", "season", "gender", "description", "created_at", "updated_at"
    ]
    list_filter = ["gender", "style", "season"]
    list_per_page = 50
    search_fields = ["description", "=source_id"]
    date_hierarchy = "created_at"
    inlines = [CoordiImageInline, CoordiItemInline]
    readonly_fields = ["latest_messages"]
    actions = ["try_messages"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Coordi]:
        # One query for every thumbnail on the page (and every coordi an action gets).
        return super().get_queryset(request).prefetch_related("images")

    @admin.display(description="image")
    def thumbnail(self, coordi: Coordi) -> str:
        image = main_image(coordi)
        if image is None:
            return "—"
        return format_html('<img src="{}" height="60" alt="" loading="lazy">', image.image_url)

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

    @admin.action(description="Try messages for me (fresh, not cached)")
    def try_messages(self, request: HttpRequest, queryset: QuerySet[Coordi]) -> None:
        count = queryset.count()
        if count > MAX_TRIED_COORDIS:
            self.message_user(
                request,
                f"Select at most {MAX_TRIED_COORDIS} coordis to try ({count} were selected); "
                "no message was generated.",
                messages.WARNING,
            )
            return
        staff = request.user
        if not isinstance(staff, User):  # the admin site lets only signed-in staff this far
            raise PermissionDenied
        # The facts the API gives Gemini (Outfit.facts()), so the cache keys match too.
        facts = [outfit.facts() for outfit in load_outfits(queryset.values_list("pk", flat=True)).values()]
        release()  # not held across the Gemini wait
        # Fresh: the point is to see what Gemini writes now, for the person asking.
        results = async_to_sync(generate_message_results)(facts, user_facts(staff), use_cache=False)
        record_messages(user_id=staff.pk, results=results)
        for result in results:
            if result.text:
                self.message_user(request, f"#{result.coordi_id}: {result.text}", messages.SUCCESS)
            else:
                self.message_user(
                    request, f"#{result.coordi_id}: no message ({result.outcome})", messages.WARNING
                )


class ItemImageInline(admin.TabularInline):
    model = ItemImage
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "brand", "name", "category", "price"]
    list_filter = ["category", "brand"]
    search_fields = ["name", "brand", "=source_id"]
    inlines = [ItemImageInline]


@admin.register(CoordiImage)
class CoordiImageAdmin(admin.ModelAdmin):
    list_display = ["id", "coordi", "image_url", "is_main", "position"]
    list_select_related = ["coordi"]
    raw_id_fields = ["coordi"]


@admin.register(ItemImage)
class ItemImageAdmin(admin.ModelAdmin):
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


@admin.register(GeneratedMessage)
class GeneratedMessageAdmin(admin.ModelAdmin):
    """A record of what Gemini was asked and answered: browsed, never written by hand."""

    list_display = [
        "coordi", "user", "short_text", "outcome", "model", "prompt_version", "latency_ms", "created_at"
    ]
    list_filter = ["outcome", "model", "prompt_version", "scope", "created_at"]
    list_select_related = ["coordi", "user"]
    # coordi__id__exact: the admin casts it to text, so a word in the search box is no error.
    search_fields = ["text", "user__email", "coordi__id__exact"]
    date_hierarchy = "created_at"
    fields = [
        "coordi", "user", "text", "outcome", "detail", "model", "prompt_version", "scope",
        "latency_ms", "reached_gemini", "input_tokens", "image_tokens", "cached_tokens",
        "output_tokens", "thinking_tokens", "image_bytes", "created_at",
    ]

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

    @admin.display(description="message", ordering="text")
    def short_text(self, message: GeneratedMessage) -> str:
        return Truncator(message.text or "—").chars(40)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GeneratedMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GeneratedMessage | None = None) -> bool:
        # Records of calls paid for: only a superuser may prune them.
        return request.user.is_superuser
