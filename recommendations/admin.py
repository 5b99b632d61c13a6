"""Every model in the admin, for merchandisers to browse the catalogue and what users did with it."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    Item,
    ItemImage,
    User,
    UserClosetItem,
    UserCoordiInteraction,
)


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


@admin.register(Coordi)
class CoordiAdmin(admin.ModelAdmin):
    list_display = ["id", "style", "season", "gender", "description", "created_at", "updated_at"]
    list_filter = ["gender", "style", "season"]
    search_fields = ["description"]
    date_hierarchy = "created_at"
    inlines = [CoordiImageInline, CoordiItemInline]


class ItemImageInline(admin.TabularInline):
    model = ItemImage
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "brand", "name", "category", "price"]
    list_filter = ["category", "brand"]
    search_fields = ["name", "brand"]
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
