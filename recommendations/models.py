"""The catalogue (coordis, items, their images), the users and what they did with it.

The vocabulary is the replaced service's (see shared/CONTRACT.md): its mobile client reads it as is.
"""

import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from llm.results import Outcome

# The largest id the database holds (a signed 64-bit integer: bigint on PostgreSQL, SQLite's integer).
# An id from a URL or a body past it names nothing, and must not reach a query (it would overflow).
MAX_DATABASE_ID = models.BigIntegerField.MAX_BIGINT


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"


class Season(models.TextChoices):
    SPRING = "spring", "Spring"
    SUMMER = "summer", "Summer"
    FALL = "fall", "Fall"
    WINTER = "winter", "Winter"


class Style(models.TextChoices):
    CASUAL = "casual", "Casual"
    STREET = "street", "Street"
    SPORTY = "sporty", "Sporty"
    MINIMAL = "minimal", "Minimal"


class Category(models.TextChoices):
    TOP = "top", "Top"
    BOTTOM = "bottom", "Bottom"
    OUTER = "outer", "Outer"


def in_vocabulary(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    """The database refuses a value outside the vocabulary, whatever wrote it (a save, an import,
    raw SQL): the API serves these values to clients that know no others."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}), name=name,
        violation_error_message=f"{field} must be one of {', '.join(choices.values)}.",
    )  # fmt: skip


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        """The user signing in as this email, whatever its case (what sign-in, the admin and
        preview_messages look up); at most one, by the case-insensitive unique constraint."""
        return self.alias(email_lower=Lower("email")).get(email_lower=Lower(Value(username)))

    def _create_user(self, email: str, password: str | None, **fields: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        if not (fields["is_staff"] and fields["is_superuser"]):
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person using the app; signs in with an email address."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=100, blank=True)
    gender = models.CharField(max_length=10, choices=Gender.choices)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The web client's onboarding: set once the user chose their hashtags and sample outfits.
    has_completed_onboarding = models.BooleanField(default=False)
    # In Django's storage (MEDIA_ROOT by default): the API's `profileImageUrl`.
    profile_photo = models.ImageField(upload_to="profile-photos/", blank=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["name", "gender"]

    class Meta:
        constraints = [
            # Emails are case-insensitive: DEMO@example.com is demo@example.com's address.
            models.UniqueConstraint(
                Lower("email"), name="user_email_unique_ignoring_case",
                violation_error_message="A user with this email address already exists.",
            ),
            in_vocabulary("gender", Gender, "user_gender_in_vocabulary"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


def new_catalogue_version() -> int:
    """A fresh version token: random, so two writers never make the same one (counters can race)."""
    return secrets.randbits(62)


class Coordi(models.Model):
    """An outfit: a set of items worn together, shown with its images."""

    season = models.CharField(max_length=10, choices=Season.choices)
    style = models.CharField(max_length=10, choices=Style.choices)
    gender = models.CharField(max_length=10, choices=Gender.choices)
    description = models.TextField(blank=True)
    # Where the outfit came from, for one imported (manage.py import_catalogue): the replaced
    # service's id (19 digits, too large for a JavaScript number, so never the API's id) and page.
    # NULL for outfits made here (unique otherwise).
    source_id = models.CharField(
        max_length=40, unique=True, null=True, blank=True, help_text="The id in the imported export."
    )
    detail_url = models.URLField(max_length=500, blank=True, help_text="The outfit's page at its source.")
    items: "models.ManyToManyField[Item, CoordiItem]" = models.ManyToManyField(
        "Item", through="CoordiItem", related_name="coordis"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Moves (recommendations/signals.py) on any change to the coordi, its images, its items or their
    # images: the key of its cached catalogue fragment. QuerySet.update() and bulk writes bypass it.
    catalogue_version = models.BigIntegerField(default=new_catalogue_version, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The default recommender: one gender, newest first.
            models.Index(fields=["gender", "-created_at", "-id"], name="coordi_gender_newest"),
        ]
        constraints = [
            in_vocabulary("gender", Gender, "coordi_gender_in_vocabulary"),
            in_vocabulary("season", Season, "coordi_season_in_vocabulary"),
            in_vocabulary("style", Style, "coordi_style_in_vocabulary"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_style_display()} / {self.get_season_display()} ({self.gender})"


class CoordiImage(models.Model):
    coordi = models.ForeignKey(Coordi, on_delete=models.CASCADE, related_name="images")
    image_url = models.URLField(max_length=500)
    is_main = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coordi"], condition=Q(is_main=True), name="one_main_image_per_coordi"
            ),
        ]
        indexes = [models.Index(fields=["coordi", "position"], name="coordi_image_order")]

    def __str__(self) -> str:
        return self.image_url


class Item(models.Model):
    """A product that can be bought; appears in any number of coordis."""

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=10, choices=Category.choices)
    brand = models.CharField(max_length=100)
    price = models.PositiveIntegerField(help_text="In won.")
    purchase_url = models.URLField(max_length=500)
    # NULL for items made here (unique otherwise).
    source_id = models.CharField(
        max_length=40, unique=True, null=True, blank=True, help_text="The id in the imported export."
    )

    class Meta:
        ordering = ["id"]
        constraints = [in_vocabulary("category", Category, "item_category_in_vocabulary")]

    def __str__(self) -> str:
        return f"{self.brand} {self.name}"


class ItemImage(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="images")
    image_url = models.URLField(max_length=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["item", "position"], name="item_image_order")]

    def __str__(self) -> str:
        return self.image_url


class CoordiItem(models.Model):
    coordi = models.ForeignKey(Coordi, on_delete=models.CASCADE, related_name="coordi_items")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="coordi_items")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["coordi", "item"], name="one_item_once_per_coordi"),
        ]
        indexes = [models.Index(fields=["coordi", "position"], name="coordi_item_order")]

    def __str__(self) -> str:
        return f"{self.coordi_id} → {self.item_id}"


class InteractionAction(models.TextChoices):
    LIKE = "like", "Like"
    SKIP = "skip", "Skip"


class UserCoordiInteraction(models.Model):
    """A user's verdict on a coordi: liked (a favourite) or skipped; one per user and coordi."""

    Action = InteractionAction

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="coordi_interactions")
    coordi = models.ForeignKey(Coordi, on_delete=models.CASCADE, related_name="interactions")
    action = models.CharField(max_length=10, choices=Action.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "coordi"], name="one_interaction_per_user_coordi"),
            in_vocabulary("action", InteractionAction, "interaction_action_in_vocabulary"),
        ]
        # A user's likes, newest first (GET /api/outfits/favorites).
        indexes = [
            models.Index(fields=["user", "action", "-created_at"], name="interaction_user_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.coordi_id}"


class UserClosetItem(models.Model):
    """An item a user saved to their closet."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="closet_items")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="closet_entries")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="one_closet_entry_per_user_item"),
        ]
        # A user's closet, newest first (GET /api/closet).
        indexes = [models.Index(fields=["user", "-created_at"], name="closet_user_newest")]

    def __str__(self) -> str:
        return f"{self.user_id} saved {self.item_id}"


class Hashtag(models.Model):
    """A style tag a user can prefer at onboarding (#캐주얼, #미니멀, ...); seeded by a migration."""

    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class UserPreferredHashtag(models.Model):
    """A hashtag the user chose at onboarding."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="preferred_hashtags")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="preferred_by")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["hashtag_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "hashtag"], name="one_preference_per_user_hashtag"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} prefers {self.hashtag_id}"


class UserPreferredCoordi(models.Model):
    """A sample outfit the user chose at onboarding (`preferredAt`: when)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="preferred_coordis")
    coordi = models.ForeignKey(Coordi, on_delete=models.CASCADE, related_name="preferred_by")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "coordi"], name="one_preference_per_user_coordi"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} prefers {self.coordi_id}"


class CoordiView(models.Model):
    """How long a user looked at an outfit (the web client's `POST /api/outfits/{id}/view`); one row
    per view."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="coordi_views")
    coordi = models.ForeignKey(Coordi, on_delete=models.CASCADE, related_name="views")
    duration_seconds = models.FloatField(help_text="How long the outfit was on screen.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["coordi", "-created_at"], name="coordi_view_newest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_seconds__gte=0), name="coordi_view_duration_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} viewed {self.coordi_id} for {self.duration_seconds:g} s"


class GeneratedMessage(models.Model):
    """A record of every message asked of Gemini: what came back, how, and how long it took.

    One row per attempt a request made (cache hits and waits on another request's call add none), so
    merchandisers can browse them and operators can count outcomes and cost: the calls paid for are
    the rows with `reached_gemini`.
    """

    coordi = models.ForeignKey(Coordi, on_delete=models.CASCADE, related_name="generated_messages")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="generated_messages")
    # NULL, like the API's `llmMessage: null`, is the one value for "no message": "" is never stored.
    text = models.TextField(  # noqa: DJ001
        null=True, blank=True, help_text="The message as shown; empty when none."
    )
    outcome = models.CharField(max_length=20, choices=[(o.value, o.value) for o in Outcome])
    detail = models.CharField(max_length=60, blank=True, help_text="Why, for a failure.")
    model = models.CharField(max_length=60)
    prompt_version = models.CharField(max_length=30)
    scope = models.CharField(max_length=10, default="user")
    latency_ms = models.PositiveIntegerField()
    reached_gemini = models.BooleanField(
        default=False,
        help_text="The request went to Gemini (a call paid for); false when it was never sent "
        "(paused, rate limited, no free slot).",
    )
    # Tokens as Gemini's usageMetadata reported them; NULL when it said nothing (no call, an error).
    input_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="The whole prompt, image included (billed as input)."
    )
    image_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="The image's share of input."
    )
    cached_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="Of input, read from Gemini's context cache (billed lower)."
    )
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    thinking_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="Billed as output."
    )
    image_bytes = models.PositiveIntegerField(
        default=0, help_text="Bytes of the image as sent; 0 without one."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["coordi", "-created_at"], name="message_coordi_newest"),
            models.Index(fields=["-created_at"], name="message_newest"),
            models.Index(fields=["outcome", "-created_at"], name="message_outcome_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} message for {self.user} on coordi #{self.coordi_id}"


class PageViews(models.Model):
    """Recommendation pages served per day (UTC), so that message costs read per 1,000 page views.

    Counted in each process and added here every few seconds (recommendations.page_views), not per
    request: an estimate's denominator, never a user's data.
    """

    day = models.DateField(unique=True)
    views = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "page views"

    def __str__(self) -> str:
        return f"{self.day}: {self.views}"
